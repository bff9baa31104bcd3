"""The candidate's held-out questions, kept in the training folder for `publish` to judge it by.

`holdout.jsonl` (named in the manifest's `holdout`) has one JSON object per held-out (newest) ticket:
its key, `created`, `team` (the truth) and `question` (its summary as written, asked as a person
would), with the evaluated model's answer to it: `answer`, `probability` and `known_words`. That
model trained on the older tickets only; the shipped model has trained on these too (the final fit
uses every ticket), so its own answers to them would flatter it. A few hundred bytes per ticket.

The manifest's `training_data.newest_created` says up to when a model's tickets go, so the next
candidate is compared with it only on tickets it never trained on. `train --test-since` that date
holds out exactly those tickets: the candidate's evaluated model then trained on the same tickets
as the published one, and the two are compared on equal terms (`holdout.trained_until` says up to
when the evaluated model's tickets go).
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from export.errors import UserError

HOLDOUT_NAME = "holdout.jsonl"
FORM = "summary as written"
"""The question form asked (export/questions.py): raw text, so any model reads it its own way."""


@dataclass(frozen=True)
class HeldOut:
    key: str
    created: str
    team: str
    question: str
    answer: str
    probability: float
    known_words: int
    """How many of the question's words the model knows; 0: the bot would not answer."""

    def answered(self, threshold: float) -> bool:
        """Whether the bot would give this answer as confident (chalicelib.model.answer's rule)."""
        return self.known_words > 0 and self.probability >= threshold


def register_arguments(parser: argparse.ArgumentParser) -> None:
    """`--test-since` on `export train`."""
    parser.add_argument(
        "--test-since",
        metavar="DATE",
        type=since_date,
        help="hold out the tickets created after DATE instead of the newest --test-fraction: give the "
        "published model's training_data.newest_created and the publish gate compares the two on equal "
        "terms (retrain does)",
    )


def since_date(text: str) -> str:
    """A date or time as `created` values are read (export/dates.py), as an argparse type."""
    from export.dates import read_date_column

    column = read_date_column([text])
    if column.unreadable or not column.values[0]:
        raise argparse.ArgumentTypeError(f"must be a date such as 2024-06-30T12:00:00+00:00, got {text!r}")
    return column.values[0]


def split_since(data: Any, since: str) -> tuple[list[int], list[int]]:
    """Indices of the tickets created up to `since` and after it, each time-ordered."""
    if not data.time_ordered:
        raise UserError("--test-since needs the tickets' created dates, and this file has none")
    order = sorted(range(len(data)), key=lambda i: data.created[i])
    older = [i for i in order if created_of(data, i) <= since]
    newer = [i for i in order if created_of(data, i) > since]
    if not newer:
        raise UserError(f"no ticket was created after {since} (--test-since): nothing to hold out")
    missing = {data.teams[i] for i in newer} - {data.teams[i] for i in older}
    if missing:
        raise UserError(
            f"teams {', '.join(sorted(missing))} have tickets only after {since} (--test-since): "
            "a model trained up to then cannot know them; publish without comparing (--force)"
        )
    return older, newer


def created_of(data: Any, index: int) -> str:
    """A ticket's `created` as the dataset read it ("" when the file has none)."""
    return str(data.created[index]).rsplit("|", 1)[0]


def newest_created(data: Any, indices: Sequence[int]) -> str | None:
    """The newest `created` among these tickets, or None when the data has no dates."""
    if not data.time_ordered or not indices:
        return None
    return max(created_of(data, i) for i in indices) or None


def held_out(model: Any, data: Any, indices: Sequence[int]) -> list[HeldOut]:
    """Each test ticket's summary asked of `model` (export.train.Model, the evaluated one)."""
    from export.questions import QUESTION_FORMS

    texts = model.question_texts(data, indices, QUESTION_FORMS[FORM])
    probabilities = model.pipeline.predict_proba(texts)
    vocabulary = model.pipeline.named_steps["tfidf"].vocabulary_
    labels = model.labels
    return [
        HeldOut(
            key=data.keys[i],
            created=created_of(data, i),
            team=data.teams[i],
            question=data.raw_summaries[i],
            answer=labels[int(row.argmax())],
            probability=round(float(row.max()), 6),
            known_words=sum(word in vocabulary for word in text.split()),
        )
        for i, text, row in zip(indices, texts, probabilities, strict=True)
    ]


def write_holdout(folder: Path, items: Sequence[HeldOut], trained_until: str | None) -> dict[str, Any]:
    """Writes folder/holdout.jsonl; returns the manifest's `holdout` entry."""
    payload = "".join(json.dumps(asdict(item), ensure_ascii=False) + "\n" for item in items).encode()
    (folder / HOLDOUT_NAME).write_bytes(payload)
    return {
        "path": HOLDOUT_NAME,
        "sha256": hashlib.sha256(payload).hexdigest(),
        "questions": len(items),
        "form": FORM,
        "trained_until": trained_until,
    }


def read_holdout(folder: Path, entry: Any) -> list[HeldOut] | None:
    """The held-out questions the manifest's `holdout` entry names; None when it names none."""
    if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
        return None
    path = folder / Path(entry["path"]).name
    try:
        payload = path.read_bytes()
    except OSError as error:
        raise UserError(f"cannot read the held-out questions {path}: {error.strerror or error}") from None
    if hashlib.sha256(payload).hexdigest() != entry.get("sha256"):
        raise UserError(f"{path} does not match its manifest's sha256: retrain")
    try:
        return [HeldOut(**json.loads(line)) for line in payload.decode().splitlines() if line]
    except (ValueError, TypeError) as error:
        raise UserError(f"{path} is not a held-out questions file ({error}): retrain") from None
