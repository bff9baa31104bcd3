"""Feedback as training examples: `export train tickets.csv --feedback feedback.csv`.

A correction (question → the team the user chose) and a confirmation ("That helped": question → the
team suggested) are questions as people really type them, labelled by the person who asked. They
train the next model beside the tickets, at `--feedback-weight` (default 2.0, see
DEFAULT_FEEDBACK_WEIGHT).

- The question is read exactly as the bot's model read it: Slack's text as stored goes through
  `chalicelib.text.normalize` (markup, entities, the "who knows about" frame), the same call the
  Predictor makes before it expands the words for its model.
- Feedback that cannot say which team was right is counted, never trained on: no stored question
  (STORE_FEEDBACK_QUESTIONS was off), "I don't know", "Wrong team" with no choice made, a team the
  model does not have, a question with no words left once normalised.
- One question is one example however many people judged it: rows with the same normalised text are
  grouped; the team most of them name wins (the latest on a tie) and disagreements are counted.
- No leakage: the distinct questions are split by the time each was first judged, like tickets: the
  newest `test_fraction` (or those after `--test-since`) are the feedback test set the evaluated
  model is measured on, the older ones train it. A question text is in one side only. The shipped
  model learns from all of them.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from chalicelib.jobs import UNKNOWN_TEAM
from chalicelib.text import normalize
from export.arguments import input_file, number_between
from export.feedback_csv import FeedbackRow, read_rows

DEFAULT_FEEDBACK_WEIGHT = 2.0
"""A feedback question weighs what one ticket's own rows weigh together (its whole text and its
summary, 1.0 each): it is the kind of text the bot is asked, labelled by a person, so it should
count for more than either row alone; a correction also has to outvote the ticket rows that led the
model astray. Much more (say 10) would let one mistaken click own a topic: a wrong correction at 2.0
costs what one mislabelled ticket costs."""


def register_arguments(parser: argparse.ArgumentParser) -> None:
    """`--feedback` and `--feedback-weight` on `export train`."""
    parser.add_argument(
        "--feedback",
        type=Path,
        metavar="FEEDBACK_CSV",
        help="also learn from the feedback `export feedback pull` wrote: corrections and confirmations "
        "whose question was stored",
    )
    parser.add_argument(
        "--feedback-weight",
        type=weight,
        default=DEFAULT_FEEDBACK_WEIGHT,
        metavar="W",
        help=f"a feedback question's weight; a ticket's whole text and its summary weigh 1.0 each "
        f"(default {DEFAULT_FEEDBACK_WEIGHT})",
    )


weight = number_between(0, 100, low_open=True)
"""A feedback question's weight, as an argparse type."""


@dataclass(frozen=True)
class FeedbackQuestion:
    question: str
    """As Slack sent it and the store kept it."""
    text: str
    """`normalize(question)`: what the model reads."""
    team: str
    first_time: str
    """When it was first judged (ISO 8601 UTC): its place in time for the split."""
    votes: int
    """How many feedback rows named `team`."""


@dataclass
class Unusable:
    """Feedback rows that cannot train, by reason."""

    no_question: int = 0
    dont_know: int = 0
    no_choice: int = 0
    empty: int = 0
    unknown_teams: Counter[str] = field(default_factory=Counter)
    unreadable_lines: int = 0

    def parts(self) -> list[str]:
        teams = ", ".join(f"{team} ×{n}" for team, n in self.unknown_teams.most_common(5))
        parts = [
            (self.no_question, "without a stored question (STORE_FEEDBACK_QUESTIONS was off)"),
            (self.dont_know, '"I don\'t know"'),
            (self.no_choice, '"Wrong team" with no team chosen'),
            (self.empty, "with no words left once normalised"),
            (sum(self.unknown_teams.values()), f"for teams the model does not have ({teams})"),
            (self.unreadable_lines, "unreadable lines"),
        ]
        return [f"{count} {what}" for count, what in parts if count]

    def as_dict(self) -> dict[str, Any]:
        return {
            "no_question": self.no_question,
            "dont_know": self.dont_know,
            "no_choice": self.no_choice,
            "empty_after_normalising": self.empty,
            "unknown_teams": dict(self.unknown_teams.most_common()),
            "unreadable_lines": self.unreadable_lines,
        }


@dataclass(frozen=True)
class Feedback:
    """The usable feedback questions, split in time, with the weight they train at."""

    train: list[FeedbackQuestion]
    test: list[FeedbackQuestion]
    weight: float
    source: str = ""
    corrections: int = 0
    confirmations: int = 0
    disagreements: int = 0
    """Questions whose judges named different teams."""
    unusable: Unusable = field(default_factory=Unusable)

    @property
    def all(self) -> list[FeedbackQuestion]:
        return self.train + self.test

    def summary(self) -> str:
        """One line for the operator: what was learned from, what was held out, what could not train."""
        if not self.source:
            return ""
        held = f"the newest {len(self.test)} held out" if self.test else "none held out (too few to split)"
        line = (
            f"feedback: {_count(len(self.all), 'distinct question')} from "
            f"{_count(self.corrections, 'correction')} and {_count(self.confirmations, 'confirmation')}: "
            f"{len(self.train)} to train on, {held}"
        )
        if self.disagreements:
            line += f" ({self.disagreements} judged differently by different people: the majority's team)"
        skipped = self.unusable.parts()
        return line + (f"; cannot train: {', '.join(skipped)}" if skipped else "")

    def as_dict(self) -> dict[str, Any]:
        """The manifest's record of what the model learned from feedback."""
        return {
            "source": self.source,
            "weight": self.weight,
            "corrections": self.corrections,
            "confirmations": self.confirmations,
            "questions": len(self.all),
            "train_questions": len(self.train),
            "test_questions": len(self.test),
            "disagreements": self.disagreements,
            "cannot_train": self.unusable.as_dict(),
        }


NO_FEEDBACK = Feedback([], [], DEFAULT_FEEDBACK_WEIGHT)


def _count(n: int, thing: str) -> str:
    return f"{n} {thing}{'' if n == 1 else 's'}"


def load_feedback(
    path: Path, teams: set[str], test_fraction: float, weight: float, since: str | None = None
) -> Feedback:
    """The feedback CSV as questions to learn from (`teams`: the model's labels), split in time: the
    newest `test_fraction` held out, or (`since`, as `train --test-since`) those first judged after it."""
    input_file(path, "a feedback CSV (written by `python -m export feedback pull`)")
    read = read_rows(path)
    unusable = Unusable(unreadable_lines=len(read.skipped))
    judged: dict[str, list[tuple[FeedbackRow, str]]] = {}
    for row in read.rows:
        team = _usable_team(row, teams, unusable)
        if team is None:
            continue
        text = normalize(row.question)
        if not text:
            unusable.empty += 1
            continue
        judged.setdefault(text, []).append((row, team))
    questions = [_one_question(text, rows) for text, rows in judged.items()]
    questions.sort(key=lambda q: (q.first_time, q.text))
    if since is None:
        cut = len(questions) - round(len(questions) * test_fraction)
    else:
        cut = sum(_moment(q.first_time) <= _moment(since) for q in questions)
    usable = [row for rows in judged.values() for row, _ in rows]
    return Feedback(
        train=questions[:cut],
        test=questions[cut:],
        weight=weight,
        source=path.name,
        corrections=sum(row.verdict == "corrected" for row in usable),
        confirmations=sum(row.verdict == "right" for row in usable),
        disagreements=sum(len({team for _, team in rows}) > 1 for rows in judged.values()),
        unusable=unusable,
    )


def _moment(text: str) -> datetime:
    """An ISO 8601 time as an aware datetime (UTC when it names no zone), so that feedback's `…Z`
    times and tickets' `…+00:00` or zoneless dates compare."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)  # unreadable: the oldest, so it trains
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _usable_team(row: FeedbackRow, teams: set[str], unusable: Unusable) -> str | None:
    """The team this row teaches, or None (counted in `unusable`, under its first reason)."""
    if not row.question.strip():
        unusable.no_question += 1
        return None
    if row.verdict == "corrected" and row.corrected_team == UNKNOWN_TEAM:
        unusable.dont_know += 1
        return None
    team = row.right_team
    if team is None:
        unusable.no_choice += 1
        return None
    if team not in teams:
        unusable.unknown_teams[team] += 1
        return None
    return team


def _one_question(text: str, rows: list[tuple[FeedbackRow, str]]) -> FeedbackQuestion:
    """The rows of one normalised question: the team most of them name (the latest on a tie)."""
    ordered = sorted(rows, key=lambda pair: pair[0].time)
    votes = Counter(team for _, team in ordered)
    top = max(votes.values())
    team = next(team for _, team in reversed(ordered) if votes[team] == top)
    return FeedbackQuestion(ordered[-1][0].question, text, team, ordered[0][0].time, votes[team])


def add_rows(rows: Any, questions: Sequence[FeedbackQuestion], weight: float) -> None:
    """Adds the questions to `rows` (export.pipeline.TrainingRows) among the rows the vocabulary is
    chosen from: a word people use for a team gets into the model even when no ticket has it."""
    at = rows.vocabulary_rows
    rows.texts[at:at] = [q.text for q in questions]
    rows.labels[at:at] = [q.team for q in questions]
    rows.weights[at:at] = [weight] * len(questions)
    rows.vocabulary_rows += len(questions)


def figures(model: Any, questions: Sequence[FeedbackQuestion], threshold: float) -> dict[str, Any]:
    """How `model` (export.train.Model) answers the held-out feedback questions, read as the bot reads
    them (normalised, then expanded for the model), at the model's threshold."""
    from chalicelib.model.expand import QuestionExpander
    from export.evaluate import form_figures

    if not questions:
        return {"questions": 0}
    expander = QuestionExpander.from_metadata(model.expander_data)
    texts = [expander(q.text) if expander else q.text for q in questions]
    probabilities = model.pipeline.predict_proba(texts)
    labels = model.labels
    truth = np.array([labels.index(q.team) for q in questions])
    result = form_figures(probabilities, truth, threshold)
    return {"questions": len(questions)} | {k: v for k, v in result.items() if k != "reliability"}
