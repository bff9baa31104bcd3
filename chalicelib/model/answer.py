"""One question answered from the model: the teams, whether the bot is sure, and why.

The one place that decides what an answer is, used by the worker (which renders it for Slack) and
by `export ask` (which prints it), so the operator checking a model sees what users will see.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from chalicelib.model.reasons import reasons
from chalicelib.slack.markup import to_plain

if TYPE_CHECKING:  # numpy's and onnxruntime's modules: the worker imports this before the model loads
    from chalicelib.model.predictor import Guess, Predictor
    from chalicelib.model.ticket_index import SimilarTicket, TicketIndex

Kind = Literal["confident", "unsure", "unknown_words"]


@dataclass(frozen=True)
class Answer:
    question: str
    guesses: list[Guess]
    threshold: float
    known_words: int
    """How many of the question's words the model knows; with none there is nothing to rank on."""
    because: list[str]
    """The question's words behind the top team, as typed, strongest first."""
    similar: list[SimilarTicket] | None = field(default=None)
    """Past tickets of the top team most like the question; None when the model has no index (or
    the answer is about unknown words), [] when none is similar enough."""

    @property
    def kind(self) -> Kind:
        if self.known_words == 0 or not self.guesses:
            return "unknown_words"
        return "confident" if self.guesses[0].probability >= self.threshold else "unsure"

    def as_dict(self) -> dict[str, Any]:
        """One JSON line of `export ask`."""
        return {
            "question": self.question,
            "answer": self.kind,
            "threshold": round(self.threshold, 4),
            "teams": [{"team": g.label, "probability": round(g.probability, 4)} for g in self.guesses],
            "because": self.because,
            "known_words": self.known_words,
            "similar": None if self.similar is None else [ticket._asdict() for ticket in self.similar],
        }


def answer_question(
    predictor: Predictor,
    question: str,
    threshold: float,
    top: int = 3,
    index: TicketIndex | None = None,
    evidence: int = 3,
) -> Answer:
    """`question` as Slack sent it (or as typed at a terminal), answered at `threshold`; with the
    model's ticket `index`, up to `evidence` past tickets of the top team most like it."""
    explained = predictor.explain(question, top=top)
    if not explained.known_words or not explained.guesses:
        return Answer(question, explained.guesses, threshold, explained.known_words, [])
    because = reasons(to_plain(question), explained)
    similar = None
    if index is not None:
        ids = [term.id for term in explained.terms]
        similar = index.similar(ids, team=explained.guesses[0].label, k=evidence)
    return Answer(question, explained.guesses, threshold, explained.known_words, because, similar)
