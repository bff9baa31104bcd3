"""The feedback CSV that `export feedback pull` writes and `export feedback report` (and training on
feedback) reads: one row per (answered question, user), the worker's record as it is stored.

Columns, in order:

- `question_id`: the answered question's job id (`slash:<trigger_id>`, `message:<team>:<channel>:<ts>`)
- `user_id`: who gave the feedback
- `verdict`: `right` ("That helped"), `wrong` ("Wrong team", no team chosen yet) or `corrected`
- `suggested_team`: the label the answer proposed
- `corrected_team`: `corrected` only: the label the user chose, or `__unknown__` ("I don't know")
- `model_version`: the version of the model that answered (empty when the answer did not record it)
- `time`: when the verdict was given, ISO 8601 UTC (`2024-06-03T09:30:05Z`)
- `team_id`, `channel_id`: the Slack workspace and conversation
- `question`: the question as Slack sent it (mrkdwn-escaped: `&amp;` `&lt;` `&gt;`, mentions as
  `<@U…>`; `chalicelib.slack.markup.to_plain` reads it as a person would); empty unless the bot ran
  with STORE_FEEDBACK_QUESTIONS
"""

from __future__ import annotations

import contextlib
import csv
import os
import tempfile
from collections.abc import Iterable
from dataclasses import astuple, dataclass
from pathlib import Path

from chalicelib.jobs import UNKNOWN_TEAM, VERDICTS
from chalicelib.worker.feedback_store import ATTRIBUTES
from export.errors import UserError

COLUMNS = ATTRIBUTES
REQUIRED = ("question_id", "user_id", "verdict", "suggested_team", "time")


@dataclass(frozen=True)
class FeedbackRow:
    question_id: str
    user_id: str
    verdict: str
    suggested_team: str
    corrected_team: str = ""
    model_version: str = ""
    time: str = ""
    team_id: str = ""
    channel_id: str = ""
    question: str = ""

    @property
    def right_team(self) -> str | None:
        """The team the user says could answer: the suggested one when right, the chosen one when
        corrected to a known team; None otherwise."""
        if self.verdict == "right":
            return self.suggested_team
        if self.verdict == "corrected" and self.corrected_team not in ("", UNKNOWN_TEAM):
            return self.corrected_team
        return None


def write_rows(path: Path, rows: Iterable[FeedbackRow]) -> int:
    """Writes the CSV atomically (a temporary file renamed into place); returns the row count."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    count = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(COLUMNS)
            for row in rows:
                writer.writerow(astuple(row))
                count += 1
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
    return count


@dataclass(frozen=True)
class ReadResult:
    rows: list[FeedbackRow]
    skipped: list[tuple[int, str]]
    """(line number, why) for rows left out: an unknown verdict, a missing required value."""


def read_rows(path: Path) -> ReadResult:
    """Reads a feedback CSV; a file that is not one is a UserError naming what is missing."""
    try:
        handle = path.open(encoding="utf-8", newline="")
    except FileNotFoundError:
        raise UserError(f"{path} does not exist (expected the CSV `export feedback pull` wrote)") from None
    except IsADirectoryError:
        raise UserError(f"{path} is a directory, not a feedback CSV") from None
    except OSError as error:
        raise UserError(f"cannot read {path}: {error.strerror or error}") from None
    with handle:
        try:
            reader = csv.DictReader(handle)
            missing = [column for column in REQUIRED if column not in (reader.fieldnames or [])]
            if missing:
                raise UserError(
                    f"{path} is not a feedback CSV: no {', '.join(missing)} column "
                    "(write one with `python -m export feedback pull`)"
                )
            rows, skipped = [], []
            for line, record in enumerate(reader, start=2):
                values = {name: (record.get(name) or "").strip() for name in COLUMNS}
                values["question"] = record.get("question") or ""  # as Slack sent it: not stripped
                absent = [name for name in REQUIRED if not values[name]]
                if absent:
                    skipped.append((line, f"no {', '.join(absent)}"))
                elif values["verdict"] not in VERDICTS:
                    skipped.append((line, f"unknown verdict {values['verdict'][:20]!r}"))
                else:
                    rows.append(FeedbackRow(**values))
        except UnicodeDecodeError:
            raise UserError(f"{path} is not UTF-8 text") from None
        except csv.Error as error:
            raise UserError(f"{path} is not a readable CSV: {error}") from None
    return ReadResult(rows, skipped)
