"""`python -m export ask`: answer a question from model.onnx alone, as the bot would.

Only chalicelib is used (onnxruntime, no scikit-learn): proof that the exported file is all the
bot needs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from chalicelib.model.manifest import MANIFEST_NAME, ManifestError, parse_manifest
from export.errors import UserError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "ask",
        help="ask the exported model which team can answer a question",
        description="Answer a question from an exported model folder (model.onnx + manifest.json).",
        epilog='example:\n  python -m export ask --model out/sample "who can fix the failed VAT invoice?"',
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("question", help="the question, as a person would type it in Slack")
    parser.add_argument("--model", type=Path, required=True, help="folder written by `train`")
    parser.add_argument("--top", type=int, default=3, help="how many teams to show (default 3)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from chalicelib.model.errors import ModelLoadError
    from chalicelib.model.predictor import Predictor

    manifest_path = args.model / MANIFEST_NAME
    try:
        manifest = parse_manifest(manifest_path.read_bytes())
    except FileNotFoundError:
        raise UserError(f"{manifest_path}: not found; point --model at a folder written by `train`") from None
    except ManifestError as error:
        raise UserError(f"{manifest_path}: {error}") from None
    try:
        predictor = Predictor(args.model / manifest.model_path)
    except ModelLoadError as error:
        raise UserError(str(error)) from None
    if not args.question.strip():
        raise UserError("the question is empty")
    print(f"Q: {args.question}")
    for rank, guess in enumerate(predictor.rank(args.question, top=max(1, args.top)), start=1):
        print(f"  {rank}. {guess.label:<20} {guess.probability:6.1%}")
    return 0
