"""`python -m export retrain --config retrain.toml`: the learning loop as one command for a cron job.

collect (what changed in Jira since the last run, merged into the tickets so far: export/incremental.py)
→ feedback pull (when a feedback table is configured) → train with that feedback, holding out the
tickets newer than the published model's (`--test-since`, so the two are judged on equal terms) →
publish, whose gate refuses a candidate worse than the published model (export/gate.py). Each step
is the command an operator would run by hand, with the config's options (export/retrain_config.py
documents every key).

The last line printed is the one to alert on, and the exit status says the same:

    retrain: published <version> (top-1 0.861 vs 0.764 published, …)        exit 0
    retrain: refused <version>: <both figures, or why it could not be judged>  exit 1
    retrain: failed at <step>: <what went wrong>                           exit 2
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any

from export.errors import UserError

if TYPE_CHECKING:
    from chalicelib.model.manifest import Manifest

CRONTAB = (
    "MAILTO=ops@example.com\n"
    "0 3 * * 1  cd /opt/whoknows && .venv/bin/python -m export retrain --config retrain.toml "
    ">retrain.log 2>&1 || tail -n 1 retrain.log"
)
"""Every Monday at 03:00; the log keeps every step, and cron mails the summary line when the run
refused or failed (on success nothing is printed, so nothing is mailed)."""

EPILOG = f"""\
examples:
  python -m export retrain --config /etc/whoknows/retrain.toml

crontab (cron mails the summary line when a run is refused or fails):
  {CRONTAB.replace(chr(10), chr(10) + "  ")}

The config's keys are documented in export/retrain_config.py and docs/operations.md. Credentials come
from the environment: JIRA_EMAIL and JIRA_API_TOKEN (or JIRA_TOKEN), and AWS's usual sources.
Exit status: 0 published, 1 refused by the gate, 2 failed (the last line names the step).
"""

CANDIDATE_NAME = "candidate"
FEEDBACK_NAME = "feedback.csv"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "retrain",
        help="collect what changed, pull feedback, train, and publish if not worse (for a cron job)",
        description="Collect new and updated Jira tickets, pull the feedback, train a model with it and "
        "publish it unless it is worse than the published model; ends with one summary line.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", type=Path, required=True, help="the retrain config (TOML)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Runs every step; prints the summary line last and returns 0, 1 (refused) or 2 (failed)."""
    from export.__main__ import one_line
    from export.gate import GateRefused

    step, candidate, lock = "config", Path(CANDIDATE_NAME), None
    try:
        from export.retrain_config import load_config

        config = load_config(args.config)
        lock = _lock(config.work_dir)
        step = "collect"
        from export.incremental import collect

        collected = collect(config.collect, config.work_dir)
        print(collected.line, flush=True)
        step = "feedback"
        feedback = _pull_feedback(config)
        step = "train"
        candidate = config.work_dir / CANDIDATE_NAME
        since = _published_until(config)
        if since is not None:
            waiting = _too_few_since(collected.tickets, since)
            if waiting:
                print(f"retrain: refused: {waiting}; nothing trained")
                return 1
        _command(
            [
                "train",
                str(collected.tickets),
                "--out",
                str(candidate),
                "--quiet",
                *_train_flags(config, feedback, since),
            ]
        )
        step = "publish"
        _command(["publish", str(candidate), config.publish.dest, *_publish_flags(config)])
        print(_published_line(config), flush=True)
        return 0
    except GateRefused as refused:
        print(
            f"retrain: refused {_version(candidate)}: {refused.verdict.reason}; candidate kept in "
            f"{candidate} (publish it with --force to override)"
        )
        return 1
    except UserError as error:
        print(f"retrain: failed at {step}: {one_line(error)}")
        return 2
    except Exception as error:  # a bug: the traceback for whoever fixes it, the line for the alert
        traceback.print_exc(file=sys.stderr)
        print(f"retrain: failed at {step}: {type(error).__name__}: {' '.join(str(error).split())}")
        return 2
    finally:
        if lock is not None:
            lock.close()


def _lock(work_dir: Path) -> Any:
    """Takes work_dir/retrain.lock for the run (closing the returned file releases it): two runs at
    once (a slow collection meeting the next cron slot) would write the same tickets and model."""
    import fcntl

    work_dir.mkdir(parents=True, exist_ok=True)
    handle = (work_dir / "retrain.lock").open("w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise UserError(
            f"another retrain is running in {work_dir} (it holds {work_dir / 'retrain.lock'})"
        ) from None
    return handle


def _command(argv: list[str]) -> None:
    """One `python -m export` command, as an operator would type it; UserErrors propagate."""
    from export.__main__ import build_parser

    args = build_parser().parse_args(argv)
    args.func(args)


def _pull_feedback(config: Any) -> Path | None:
    if config.feedback is None:
        return None
    out = config.work_dir / FEEDBACK_NAME
    flags = [config.feedback.table, "--out", str(out)]
    if config.feedback.region:
        flags += ["--region", config.feedback.region]
    if config.feedback.endpoint_url:
        flags += ["--endpoint-url", config.feedback.endpoint_url]
    _command(["feedback", "pull", *flags])
    return out


def _published_until(config: Any) -> str | None:
    """Up to when the published model's tickets go (None: nothing published, or a model this code
    cannot use, which the gate lets any candidate replace): the candidate holds out what came after."""
    from chalicelib.model.errors import ModelNotFound, ModelStoreError
    from chalicelib.text import NORMALIZER_VERSION

    try:
        published = _pointer(config)
    except ModelNotFound:
        return None
    except ModelStoreError as error:
        raise UserError(f"cannot read the published model's manifest: {error}") from None
    if published is None or published.normalizer_version != NORMALIZER_VERSION:
        return None
    return published.newest_created


def _too_few_since(tickets: Path, since: str) -> str | None:
    """Why a candidate cannot be judged yet (too few tickets newer than the published model's), or None."""
    from export.dates import read_date_column
    from export.gate import MIN_COMPARED
    from export.tickets import read_tickets_with_report

    dates = read_date_column([ticket.created for ticket in read_tickets_with_report(tickets)[0]]).values
    newer = sum(created > since for created in dates if created)
    if newer >= MIN_COMPARED:
        return None
    return (
        f"only {newer} ticket{'' if newer == 1 else 's'} created after {since}, the newest the published "
        f"model trained on; {MIN_COMPARED} are needed to judge a new model against it: retrain when more "
        "are in"
    )


def _train_flags(config: Any, feedback: Path | None, since: str | None) -> list[str]:
    train = config.train
    flags = [
        "--min-tickets-per-team",
        str(train.min_tickets_per_team),
        "--target-precision",
        str(train.target_precision),
        "--test-fraction",
        str(train.test_fraction),
        "--min-df",
        str(train.min_df),
        "--max-model-mb",
        str(train.max_model_mb),
        "--index-tickets",
        str(train.index_tickets),
    ]
    if feedback is not None:
        flags += ["--feedback", str(feedback), "--feedback-weight", str(config.feedback.weight)]
    if since is not None:
        flags += ["--test-since", since]  # the published model's tickets, and no more: equal terms
    return flags


def _publish_flags(config: Any) -> list[str]:
    publish = config.publish
    flags = ["--max-drop", str(publish.max_drop)]
    if publish.teams is not None:
        flags += ["--teams", str(publish.teams)]
    if publish.endpoint_url:
        flags += ["--endpoint-url", publish.endpoint_url]
    return flags


def _version(folder: Path) -> str:
    from chalicelib.model.manifest import MANIFEST_NAME, parse_manifest

    try:
        return parse_manifest((folder / MANIFEST_NAME).read_bytes()).version
    except (OSError, ValueError):
        return "(unknown version)"


def _pointer(config: Any) -> Manifest | None:
    """The manifest the published pointer names, read as the worker reads it."""
    from chalicelib.model.store import ModelStore, make_s3_client

    with tempfile.TemporaryDirectory() as cache:
        store = ModelStore(config.publish.dest, Path(cache), make_s3_client(config.publish.endpoint_url))
        return store.read_manifest()


def _published_line(config: Any) -> str:
    """The summary from what the pointer now says (the gate's record in the published manifest)."""
    from chalicelib.model.errors import ModelStoreError

    try:
        manifest = _pointer(config)
    except ModelStoreError as error:
        raise UserError(f"published, but the pointer cannot be read back: {error}") from None
    assert manifest is not None  # a new store has no earlier read to match
    record = manifest.extra.get("publish") or {}
    if record.get("gate") == "compared":
        ours, theirs = record["candidate"], record["published"]
        detail = (
            f"top-1 {ours['top1']:.3f} vs {theirs['top1']:.3f} published, answered precision "
            f"{ours['precision']:.3f} vs {theirs['precision']:.3f}, on {record['questions']} held-out "
            f"tickets new to {record['compared_with']}"
        )
    else:
        detail = f"not compared: {record.get('reason', 'no record')}"
    return f"retrain: published {manifest.version} ({detail})"
