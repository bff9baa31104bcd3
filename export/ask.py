"""`python -m export ask`: answer questions from model.onnx alone, as the bot would.

Only chalicelib is used (onnxruntime, no scikit-learn): proof that the exported file is all the
bot needs. The model comes from a training folder or from where `publish` put it (s3://…). One
question prints the ranking, why, and the sentence the bot would post; a file of questions (or
stdin) gives one JSON line per question, for an operator checking a model before publishing it.
"""

from __future__ import annotations

import argparse
import html
import io
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from chalicelib.model.manifest import (
    DEFAULT_CONFIDENCE_THRESHOLD,
    MANIFEST_NAME,
    ManifestError,
    parse_manifest,
)
from export.arguments import at_least, probability
from export.errors import UserError

if TYPE_CHECKING:
    from chalicelib.model.answer import Answer
    from chalicelib.model.manifest import Manifest
    from chalicelib.model.ticket_index import TicketIndex

EPILOG = """\
examples:
  python -m export ask --model out/sample "who can fix the failed VAT invoice?"
  python -m export ask --model s3://acme-whoknows/models "who owns the refund API?"
  python -m export ask --model out/sample --questions questions.txt > answers.jsonl
  printf 'who owns refunds?\\nwhy is the build red?\\n' | python -m export ask --model out/m --questions -

With --questions (one question per line; - for stdin) or --json, each answer is a JSON line:
question, answer (confident, unsure or unknown_words), threshold, teams with probabilities, because.

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
    parser.add_argument("question", nargs="?", help="the question, as a person would type it in Slack")
    parser.add_argument(
        "--questions", metavar="FILE", help="answer every line of FILE (- for stdin) as a JSON line"
    )
    parser.add_argument("--json", action="store_true", help="print the answer as a JSON line")
    parser.add_argument(
        "--model", required=True, help="folder written by `train`, or s3://bucket/prefix given to `publish`"
    )
    parser.add_argument("--top", type=at_least(1), default=3, help="how many teams to show (default 3)")
    parser.add_argument(
        "--threshold",
        type=probability,
        default=None,
        help="below this the bot says it is not sure (default: CONFIDENCE_THRESHOLD, else the model's "
        f"own, chosen at training, else {DEFAULT_CONFIDENCE_THRESHOLD})",
    )
    parser.add_argument("--endpoint-url", help="S3-compatible store for an s3:// model")
    parser.add_argument(
        "--cache-dir", type=Path, default=None, help="where s3:// models are kept (default ~/.cache/whoknows)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from chalicelib.model.answer import answer_question
    from chalicelib.model.errors import ModelLoadError
    from chalicelib.model.predictor import Predictor
    from chalicelib.text import normalize

    if (args.question is None) == (args.questions is None):
        raise UserError(
            'give one question, or --questions FILE (- for stdin), e.g. "who owns the refund API?"'
        )
    if args.question is not None and not normalize(args.question):
        raise UserError(
            f"the question {args.question!r} has no words left once emoji, punctuation and markup are "
            'removed; ask in words, e.g. "who owns the refund API?"'
        )
    source = _open_questions(args.questions) if args.questions is not None else None
    manifest, model_file, index = _model(args)
    threshold = _threshold(args.threshold, manifest)
    try:
        predictor = Predictor(model_file)
    except ModelLoadError as error:
        raise UserError(str(error)) from None
    if source is None:
        answer = answer_question(predictor, args.question, threshold, top=args.top, index=index)
        print(json.dumps(answer.as_dict(), ensure_ascii=False) if args.json else _format(answer))
        return 0
    with source:
        for question in _lines(source):
            answer = answer_question(predictor, question, threshold, top=args.top, index=index)
            print(json.dumps(answer.as_dict(), ensure_ascii=False), flush=True)
    return 0


def _open_questions(name: str) -> TextIO:
    """The questions file (checked before the model is fetched), or stdin for "-"."""
    if name == "-":
        return sys.stdin
    path = Path(name)
    if path.is_dir():
        raise UserError(f"--questions {path} is a directory; give a file with one question per line")
    try:
        return path.open(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"--questions {path} does not exist") from None
    except OSError as error:
        raise UserError(f"--questions {path}: {error.strerror or error}") from None


def _lines(source: TextIO) -> Iterator[str]:
    """Non-blank lines, stripped; a line that is not UTF-8 stops the run with its number."""
    number = 0
    try:
        for number, line in enumerate(source, start=1):  # noqa: B007  (read in the error message)
            if line.strip():
                yield line.strip()
    except UnicodeDecodeError:
        raise UserError(f"--questions: line {number + 1} is not UTF-8 text") from None


def _threshold(override: float | None, manifest: Manifest) -> float:
    """As the worker draws the line: --threshold, else CONFIDENCE_THRESHOLD, else the model's own."""
    if override is not None:
        return override
    raw = os.environ.get("CONFIDENCE_THRESHOLD", "").strip()
    if raw:
        try:
            return probability(raw)
        except argparse.ArgumentTypeError as error:
            raise UserError(f"CONFIDENCE_THRESHOLD {error}; or pass --threshold") from None
    return manifest.threshold


def _model(args: argparse.Namespace) -> tuple[Manifest, Path, TicketIndex | None]:
    """The manifest, the local model.onnx and the ticket index (if the model ships one) for
    --model: a training folder as it is, an s3:// prefix downloaded."""
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
    return manifest, folder / manifest.model_path, _index(folder, manifest)


def _index(folder: Path, manifest: Manifest) -> TicketIndex | None:
    """The training folder's ticket index, checked against its manifest like the worker checks it."""
    from chalicelib.model.errors import ModelStoreError
    from chalicelib.model.store import ModelStore

    try:
        raw = ModelStore(str(folder), cache_dir=folder).fetch_ticket_index(manifest)
    except ModelStoreError as error:
        raise UserError(f"{error}; retrain, or use --no-ticket-index when training") from None
    return _read_index(raw)


def _read_index(raw: bytes | None) -> TicketIndex | None:
    from chalicelib.model.ticket_index import TicketIndex, TicketIndexError

    if raw is None:
        return None
    try:
        return TicketIndex.load(io.BytesIO(raw))
    except TicketIndexError as error:
        raise UserError(f"the model's ticket index is unreadable: {error}") from None


def _download(
    uri: str, endpoint_url: str | None, cache_dir: Path | None
) -> tuple[Manifest, Path, TicketIndex | None]:
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
        return manifest, store.fetch_model(manifest), _read_index(store.fetch_ticket_index(manifest))
    except (BotoCoreError, ValueError) as error:
        raise UserError(f"cannot set up the S3 client: {error}") from None
    except ModelStoreError as error:
        raise UserError(f"{error}; point --model at the s3://bucket/prefix given to `publish`") from None
    except OSError as error:
        raise UserError(f"cannot use the cache folder {cache}: {error.strerror or error}") from None


def _format(answer: Answer) -> str:
    """Aligned ranking, why, then the sentence the bot would post (its wording, from its renderer)."""
    from chalicelib.slack.render import RankedTeam, render_answer, render_unknown_words

    if answer.kind == "unknown_words":
        return f"Q: {answer.question}\nbot: {html.unescape(render_unknown_words(answer.question).text)}"
    width = max(len(guess.label) for guess in answer.guesses)
    marker = "" if answer.kind == "confident" else "  (low confidence)"
    lines = [f"Q: {answer.question}"]
    lines += [
        f"  {rank}. {guess.label:<{width}}  {guess.probability:6.1%}{marker}"
        for rank, guess in enumerate(answer.guesses, start=1)
    ]
    if answer.because:
        lines.append(f"  because of: {', '.join(answer.because)}")
    if answer.similar:
        lines.append(f"  similar past tickets of {answer.guesses[0].label}:")
        lines += [
            f"    {t.key}  {t.summary}" + (f" ({t.year})" if t.year else "") + (f"  {t.url}" if t.url else "")
            for t in answer.similar
        ]
    elif answer.similar is not None:
        lines.append(f"  no past ticket of {answer.guesses[0].label} is much like this question")
    teams = [RankedTeam(g.label, min(max(g.probability, 0.0), 1.0), g.label) for g in answer.guesses]
    sentence = render_answer(answer.question, teams, answer.threshold).text
    lines.append(f"bot: {html.unescape(sentence)}")
    return "\n".join(lines)
