"""`python -m export <command>`: the offline pipeline's command line.

Each command lives in its own module exposing `register(subparsers)`, which adds a subparser whose
default `func(args) -> int` runs it. Operator mistakes raise `UserError` and print one line.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from export.errors import UserError

COMMANDS = ("collect", "train", "ask", "publish")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m export",
        description="whoknows offline pipeline: collect Jira tickets, train, export to ONNX, publish.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"export.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
