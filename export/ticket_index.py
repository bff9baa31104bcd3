"""The index of past tickets an answer shows as evidence, built at training from the model's own
vocabulary and idf weights (read by chalicelib.model.ticket_index).

Each ticket is indexed by its summary (what the answer shows, and what a question most resembles)
plus the first words of its description, as a TF-IDF vector of the shipped vectorizer; the
inverted index stores, per term, the tickets that have it and their weight (float16: ranks, not
probabilities, depend on it). The quality figures ask: of the questions made from the newest
tickets (never in the index), how often is the most similar ticket of the right team?
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from chalicelib.model.ticket_index import INDEX_FORMAT, TicketIndex, text_array

DESCRIPTION_WORDS = 0
"""Words of the description indexed with the summary. On the real data's time split, 12 more words
made the index 30 % larger for a most-similar-ticket accuracy 0.6 points higher, and spread the
similarities so thin that fewer answers had a ticket worth showing: the summary alone is indexed."""
MAX_SUMMARY_CHARS = 200
EVIDENCE_QUESTIONS = 6_000
"""Questions per form the evidence figures are measured on, spread evenly over the held-out tickets:
each search scores the whole index, so 60,000 questions of five forms against 100,000 tickets took
minutes for a figure 6,000 pin down to about a point (the real data's test slice is all of them)."""


def index_texts(data: Any, indices: Sequence[int], description_words: int = DESCRIPTION_WORDS) -> list[str]:
    """Each ticket's normalised summary, then the first words of its description."""
    texts = []
    for i in indices:
        summary = data.summaries[i]
        rest = data.texts[i][len(summary) :].split()[:description_words] if description_words else []
        texts.append(" ".join([summary, *rest]).strip())
    return texts


def build_ticket_index(
    vectorizer: Any, labels: Sequence[str], data: Any, indices: Sequence[int]
) -> dict[str, np.ndarray]:
    """The arrays of `tickets.npz` for these tickets, in `vectorizer`'s term ids."""
    matrix = vectorizer.transform(index_texts(data, indices)).tocsc()
    matrix.sort_indices()
    position = {label: k for k, label in enumerate(labels)}
    return {
        "format": np.array(INDEX_FORMAT),
        "idf": np.asarray(vectorizer.idf_, dtype=np.float32),
        "offsets": matrix.indptr.astype(np.int64),
        "tickets": matrix.indices.astype(np.int32),
        "weights": matrix.data.astype(np.float16),
        "team": np.array([position[data.teams[i]] for i in indices], dtype=np.int16),
        "year": np.array([_year(data.created[i]) for i in indices], dtype=np.int16),
        "labels": text_array(labels),
        "keys": text_array([data.keys[i] for i in indices]),
        "summaries": text_array([_short(data.raw_summaries[i]) for i in indices]),
        "urls": text_array([data.urls[i] for i in indices]),
    }


def write_ticket_index(arrays: dict[str, np.ndarray], path: Path) -> None:
    """Uncompressed: the worker's cold start reads it without inflating anything."""
    with path.open("wb") as handle:
        np.savez(handle, **arrays)


def evidence_quality(
    index: TicketIndex,
    vectorizer: Any,
    questions: dict[str, list[str]],
    truth: Sequence[str],
    top_teams: dict[str, Sequence[str]],
    limit: int = EVIDENCE_QUESTIONS,
) -> dict[str, dict[str, float]]:
    """Per question form: how often the most similar past ticket (of any team) is of the true team,
    how often one of the three is, and how often the top team's answer has a ticket similar enough
    to show (`MIN_SIMILARITY`). At most `limit` questions per form, spread evenly."""
    asked = sorted({round(x) for x in np.linspace(0, len(truth) - 1, min(len(truth), limit))})
    results = {}
    for form, texts in questions.items():
        vectors = vectorizer.transform([texts[row] for row in asked])
        first = any3 = shown = 0
        for vector, row in enumerate(asked):
            team = truth[row]
            ids = vectors.indices[vectors.indptr[vector] : vectors.indptr[vector + 1]].tolist()
            scores = index.scores(ids)
            if scores is None:
                continue
            nearest = index.best(scores, k=3, min_similarity=0.0)  # retrieval itself, no floor
            first += bool(nearest) and nearest[0].team == team
            any3 += any(ticket.team == team for ticket in nearest)
            shown += bool(index.best(scores, team=top_teams[form][row], k=1))
        n = max(1, len(asked))
        results[form] = {
            "first_similar_right_team": round(first / n, 4),
            "any_of_three_right_team": round(any3 / n, 4),
            "answers_with_evidence": round(shown / n, 4),
        }
    return results


def _year(created: str) -> int:
    head = created[:4]
    return int(head) if head.isdigit() else 0


def _short(summary: str) -> str:
    line = " ".join(summary.split())
    return line if len(line) <= MAX_SUMMARY_CHARS else line[: MAX_SUMMARY_CHARS - 1].rstrip() + "…"


QuestionMaker = Callable[[str], str]
