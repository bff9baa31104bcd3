"""`python -m export ask`: answer a question from model.onnx alone, as the bot would.

Only chalicelib is used (onnxruntime, no scikit-learn): proof that the exported file is all the
bot needs. The model comes from a training folder or from where `publish` put it (s3://…), and the
answer ends with the sentence the bot would post, low-confidence note included.
"""

from __future__ import annotations

import argparse
import html
import os
from pathlib import Path

from chalicelib.config import DEFAULT_CONFIDENCE_THRESHOLD
from chalicelib.model.manifest import MANIFEST_NAME, ManifestError, parse_manifest
from export.arguments import at_least
from export.errors import UserError

EPILOG = """\
examples:
  python -m export ask --model out/sample "who can fix the failed VAT invoice?"
  python -m export ask --model s3://acme-whoknows/models "who owns the refund API?"

An s3:// model is downloaded (and its sha256 checked) into --cache-dir, as the bot's worker does.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "ask",
        help="ask the exported model which team can answer a question",
        description="Answer a question from an exported model: a training folder (model.onnx + "
        "manifest.json) or the s3://bucket/prefix it was published to.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("question", help="the question, as a person would type it in Slack")
    parser.add_argument(
        "--model", required=True, help="folder written by `train`, or s3://bucket/prefix given to `publish`"
    )
    parser.add_argument("--top", type=at_least(1), default=3, help="how many teams to show (default 3)")
    parser.add_argument(
        "--threshold",
        type=probability,
        default=None,
        help="below this the bot says it is not sure (default: CONFIDENCE_THRESHOLD, else "
        f"{DEFAULT_CONFIDENCE_THRESHOLD})",
    )
    parser.add_argument("--endpoint-url", help="S3-compatible store for an s3:// model")
    parser.add_argument(
        "--cache-dir", type=Path, default=None, help="where s3:// models are kept (default ~/.cache/whoknows)"
    )
    parser.set_defaults(func=run)


def probability(text: str) -> float:
    """A number from 0 to 1, as the bot's CONFIDENCE_THRESHOLD."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number from 0 to 1, got {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be from 0 to 1, got {text}")
    return value


def run(args: argparse.Namespace) -> int:
    from chalicelib.model.errors import ModelLoadError
    from chalicelib.model.predictor import Predictor
    from chalicelib.text import normalize

    if not normalize(args.question):
        raise UserError(
            f"the question {args.question!r} has no words left once emoji, punctuation and markup are "
            'removed; ask in words, e.g. "who owns the refund API?"'
        )
    threshold = args.threshold if args.threshold is not None else _threshold_from_env()
    model_file = _model_file(args)
    try:
        predictor = Predictor(model_file)
    except ModelLoadError as error:
        raise UserError(str(error)) from None
    guesses = predictor.rank(args.question, top=args.top)
    print(_format(args.question, guesses, threshold))
    return 0


def _threshold_from_env() -> float:
    """The bot's own setting, so ask and the bot draw the line in the same place."""
    raw = os.environ.get("CONFIDENCE_THRESHOLD", "").strip()
    if not raw:
        return DEFAULT_CONFIDENCE_THRESHOLD
    try:
        return probability(raw)
    except argparse.ArgumentTypeError as error:
        raise UserError(f"CONFIDENCE_THRESHOLD {error}; or pass --threshold") from None


def _model_file(args: argparse.Namespace) -> Path:
    """The local model.onnx for --model: a training folder as it is, an s3:// prefix downloaded."""
    uri = str(args.model)
    if uri.startswith("s3://"):
        return _download(uri, args.endpoint_url, args.cache_dir)
    if "://" in uri:
        raise UserError(f"--model {uri}: only a folder or s3://bucket/prefix is supported")
    folder = Path(uri)
    if not folder.exists():
        raise UserError(f"--model {folder} does not exist; point it at a folder written by `train`")
    if not folder.is_dir():
        raise UserError(
            f"--model {folder} is a file; point it at the folder written by `train` that holds it"
        )
    manifest_path = folder / MANIFEST_NAME
    try:
        manifest = parse_manifest(manifest_path.read_bytes())
    except FileNotFoundError:
        raise UserError(f"{manifest_path}: not found; point --model at a folder written by `train`") from None
    except ManifestError as error:
        raise UserError(f"{manifest_path}: {error}") from None
    return folder / manifest.model_path


def _download(uri: str, endpoint_url: str | None, cache_dir: Path | None) -> Path:
    """What the worker does: read the pointer, fetch its model, check size and sha256, cache it."""
    from botocore.exceptions import BotoCoreError

    from chalicelib.model.store import ModelStore, ModelStoreError, make_s3_client
    from export.s3_uri import check_s3_uri

    check_s3_uri(uri, "--model")
    cache = (
        cache_dir or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "whoknows" / "models"
    )
    try:
        store = ModelStore(uri, cache_dir=cache, s3_client=make_s3_client(endpoint_url))
        manifest = store.read_manifest()  # never None: a new store has no earlier read to match
        if manifest is None:
            raise ModelStoreError(f"no manifest read from {uri}")
        return store.fetch_model(manifest)
    except (BotoCoreError, ValueError) as error:
        raise UserError(f"cannot set up the S3 client: {error}") from None
    except ModelStoreError as error:
        raise UserError(f"{error}; point --model at the s3://bucket/prefix given to `publish`") from None
    except OSError as error:
        raise UserError(f"cannot use the cache folder {cache}: {error.strerror or error}") from None


def _format(question: str, guesses: list, threshold: float) -> str:
    """Aligned ranking, then the sentence the bot would post (its wording, from its renderer)."""
    from chalicelib.slack.render import RankedTeam, render_answer

    confident = bool(guesses) and guesses[0].probability >= threshold
    width = max((len(guess.label) for guess in guesses), default=0)
    marker = "" if confident else "  (low confidence)"
    lines = [f"Q: {question}"]
    lines += [
        f"  {rank}. {guess.label:<{width}}  {guess.probability:6.1%}{marker}"
        for rank, guess in enumerate(guesses, start=1)
    ]
    teams = [RankedTeam(guess.label, min(max(guess.probability, 0.0), 1.0), guess.label) for guess in guesses]
    lines.append(f"bot: {html.unescape(render_answer(question, teams, threshold).text)}")
    return "\n".join(lines)
