"""`retrain.toml`: what `python -m export retrain` collects, trains and publishes, checked before any
work so a mistake is one line at once, not a failure an hour into the collection.

Every key (paths are relative to the config file's folder, so cron's working directory does not
matter):

    work_dir = "/var/lib/whoknows"   # required: the merged tickets.csv, the collection's state,
                                     # feedback.csv and the candidate model live here

    [collect]                        # required: the Jira collection, as `export collect` takes it
    base_url = "https://acme.atlassian.net"          # required: the Jira site root
    jql = "project in (PAY, OPS) ORDER BY created ASC"  # required: which issues
    team_field = "components"        # where the team is (default "project")
    flavor = "cloud"                 # "cloud" or "server" (default: cloud for *.atlassian.net)
    page_size = 100                  # issues per request (default 100)

    [feedback]                       # optional: leave it out to train on tickets alone
    table = "whoknows-prod-feedback" # required in the section: the stack's FeedbackTableName
    region = "eu-west-1"             # the table's region (default: AWS_REGION / the profile's)
    endpoint_url = "http://…"        # a DynamoDB-compatible endpoint (default: AWS)
    weight = 2.0                     # a feedback question's training weight (default 2.0)

    [train]                          # optional: `export train`'s options
    min_tickets_per_team = 10        # smaller teams are left out (default 10)
    target_precision = 0.9           # the confidence threshold's target (default 0.9)
    test_fraction = 0.2              # newest share held out when nothing is published yet (default 0.2);
                                     # later runs hold out the tickets newer than the published model's
    min_df = 3                       # a word's minimum ticket count (default 3)
    max_model_mb = 30                # the model's size budget, which caps its terms (default 30)
    index_tickets = 100000           # the newest tickets indexed as evidence (default 100000)

    [publish]                        # required
    dest = "s3://acme-whoknows/models"  # required: the bot's MODEL_URI
    teams = "teams.json"             # the team directory published with each model (optional)
    max_drop = 0.01                  # the gate's allowed drop in top-1 or precision (default 0.01)
    endpoint_url = "http://…"        # an S3-compatible store (default: AWS)
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from export.arguments import Bounds, output_folder
from export.collect import DEFAULT_TEAM_FIELD
from export.errors import UserError
from export.feedback_rows import DEFAULT_FEEDBACK_WEIGHT
from export.gate import DEFAULT_MAX_DROP
from export.jira import DEFAULT_PAGE_SIZE
from export.threshold import DEFAULT_TARGET_PRECISION
from export.train import (
    DEFAULT_INDEX_TICKETS,
    DEFAULT_MAX_MODEL_MB,
    DEFAULT_MIN_DF,
    DEFAULT_MIN_TICKETS,
    DEFAULT_TEST_FRACTION,
    MODEL_MB_RANGE,
)


@dataclass(frozen=True)
class Collect:
    base_url: str
    jql: str
    team_field: str = DEFAULT_TEAM_FIELD
    flavor: str | None = None
    page_size: int = DEFAULT_PAGE_SIZE


@dataclass(frozen=True)
class Feedback:
    table: str
    region: str | None = None
    endpoint_url: str | None = None
    weight: float = DEFAULT_FEEDBACK_WEIGHT


@dataclass(frozen=True)
class Train:
    min_tickets_per_team: int = DEFAULT_MIN_TICKETS
    target_precision: float = DEFAULT_TARGET_PRECISION
    test_fraction: float = DEFAULT_TEST_FRACTION
    min_df: int = DEFAULT_MIN_DF
    max_model_mb: float = DEFAULT_MAX_MODEL_MB
    index_tickets: int = DEFAULT_INDEX_TICKETS


@dataclass(frozen=True)
class Publish:
    dest: str
    teams: Path | None = None
    max_drop: float = DEFAULT_MAX_DROP
    endpoint_url: str | None = None


@dataclass(frozen=True)
class RetrainConfig:
    work_dir: Path
    collect: Collect
    feedback: Feedback | None
    train: Train
    publish: Publish


Check = Callable[[Any, str], Any]
"""Takes a TOML value and where it is (`[publish] dest`); returns the value to keep, or raises
ValueError with what was expected."""


def _text(value: Any, _: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be a non-empty string")
    return value.strip()


def _whole(minimum: int) -> Check:
    def check(value: Any, _: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(f"must be a whole number of at least {minimum}")
        return value

    return check


def _number(low: float, high: float, *, low_open: bool = False, high_open: bool = False) -> Check:
    bounds = Bounds(low, high, low_open, high_open)

    def check(value: Any, _: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("must be a number")
        if not bounds.admits(value):
            raise ValueError(f"must be {bounds}")
        return float(value)

    return check


def _url(value: Any, where: str) -> str:
    text = _text(value, where)
    if urlsplit(text).scheme not in ("http", "https"):
        raise ValueError("must start with https:// (or http://)")
    return text.rstrip("/")


def _choice(*choices: str) -> Check:
    def check(value: Any, where: str) -> str:
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return str(value)

    return check


def _s3(value: Any, where: str) -> str:
    from export.s3_uri import check_s3_uri

    text = _text(value, where)
    try:
        check_s3_uri(text, "dest")
    except UserError as error:
        raise ValueError(str(error).removeprefix("dest ")) from None
    return text


def _table(value: Any, where: str) -> str:
    from export.feedback_pull import table_name

    try:
        return table_name(_text(value, where))
    except UserError as error:
        raise ValueError(str(error)) from None


SECTIONS: dict[str, tuple[bool, dict[str, tuple[bool, Check]]]] = {
    "collect": (
        True,
        {
            "base_url": (True, _url),
            "jql": (True, _text),
            "team_field": (False, _text),
            "flavor": (False, _choice("cloud", "server")),
            "page_size": (False, _whole(1)),
        },
    ),
    "feedback": (
        False,
        {
            "table": (True, _table),
            "region": (False, _text),
            "endpoint_url": (False, _url),
            "weight": (False, _number(0, 100, low_open=True)),
        },
    ),
    "train": (
        False,
        {
            "min_tickets_per_team": (False, _whole(1)),
            "target_precision": (False, _number(0, 1, low_open=True)),
            "test_fraction": (False, _number(0, 1, low_open=True, high_open=True)),
            "min_df": (False, _whole(1)),
            "max_model_mb": (False, _number(*MODEL_MB_RANGE)),
            "index_tickets": (False, _whole(1)),
        },
    ),
    "publish": (
        True,
        {
            "dest": (True, _s3),
            "teams": (False, _text),
            "max_drop": (False, _number(0, 1)),
            "endpoint_url": (False, _url),
        },
    ),
}
"""Section name -> (required, {key: (required, check)})."""


def load_config(path: Path) -> RetrainConfig:
    """Reads and checks the config; every problem is a UserError naming the file, the key and the fix."""
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise UserError(
            f"{path} does not exist (the retrain config: see `python -m export retrain --help`)"
        ) from None
    except IsADirectoryError:
        raise UserError(f"{path} is a directory, not a retrain config") from None
    except tomllib.TOMLDecodeError as error:
        raise UserError(f"{path} is not valid TOML: {error}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"cannot read {path}: {getattr(error, 'strerror', None) or error}") from None
    return _checked(path, data)


def _checked(path: Path, data: dict[str, Any]) -> RetrainConfig:
    here = path.resolve().parent

    def fail(message: str) -> UserError:
        return UserError(f"{path}: {message}")

    _no_unknown(path, data, ["work_dir", *SECTIONS], "")
    if "work_dir" not in data:
        raise fail(
            "work_dir is required: the folder retrain keeps its tickets and models in, "
            'e.g. work_dir = "/var/lib/whoknows"'
        )
    try:
        work_dir = here / _text(data["work_dir"], "work_dir")
    except ValueError as error:
        raise fail(f"work_dir {error}") from None
    try:
        output_folder(work_dir, "work_dir")
    except UserError as error:
        raise fail(str(error)) from None
    sections: dict[str, dict[str, Any] | None] = {}
    for name, (required, keys) in SECTIONS.items():
        table = data.get(name)
        if table is None:
            if required:
                raise fail(f"[{name}] is required (see `python -m export retrain --help` for its keys)")
            sections[name] = None
            continue
        if not isinstance(table, dict):
            raise fail(f"{name} must be a section ([{name}]), not a value")
        _no_unknown(path, table, list(keys), name)
        values: dict[str, Any] = {}
        for key, (key_required, check) in keys.items():
            if key not in table:
                if key_required:
                    raise fail(f"[{name}] {key} is required")
                continue
            try:
                values[key] = check(table[key], f"[{name}] {key}")
            except ValueError as error:
                raise fail(f"[{name}] {key} {error}, got {table[key]!r}") from None
        sections[name] = values
    publish = dict(sections["publish"] or {})
    if "teams" in publish:
        teams = here / publish["teams"]
        if not teams.is_file():
            raise fail(
                f"[publish] teams {teams} is not a file (the team directory to publish with the model)"
            )
        publish["teams"] = teams
    feedback = sections["feedback"]
    return RetrainConfig(
        work_dir=work_dir,
        collect=Collect(**(sections["collect"] or {})),
        feedback=Feedback(**feedback) if feedback is not None else None,
        train=Train(**(sections["train"] or {})),
        publish=Publish(**publish),
    )


def _no_unknown(path: Path, table: dict[str, Any], known: list[str], section: str) -> None:
    for key in table:
        if key not in known:
            # A shortened key ("min_tickets") means the key it begins, before any look-alike.
            close = [k for k in known if k.startswith(key)][:1] or difflib.get_close_matches(key, known, n=1)
            where = f"[{section}] " if section else ""
            hint = f"did you mean {close[0]}?" if close else f"known: {', '.join(known)}"
            raise UserError(f"{path}: unknown key {where}{key} ({hint})")
