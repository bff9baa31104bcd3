"""`python -m export <command>`: the offline pipeline's command line.

Each command lives in its own module exposing `register(subparsers)`, which adds a subparser whose
default `func(args) -> int` runs it. Operator mistakes, usage errors included, raise `UserError`
and print one line.
"""

from __future__ import annotations

import importlib
import sys

from export.arguments import CommandLineParser
from export.errors import UserError

COMMANDS = ("collect", "train", "ask", "publish", "feedback", "retrain")


def build_parser() -> CommandLineParser:
    parser = CommandLineParser(
        prog="python -m export",
        description="whoknows offline pipeline: collect Jira tickets, train, export to ONNX, publish; "
        "export and report the feedback users gave; retrain does it all for a cron job.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"export.{name}").register(subparsers)
    return parser


def one_line(error: UserError) -> str:
    """The message on a single line, whatever a library put into it."""
    return " ".join(str(error).split())


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return int(args.func(args) or 0)
    except UserError as error:
        print(f"error: {one_line(error)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
