"""Past tickets like the question: the evidence an answer shows so the person can check it.

A team name with "87 %" asks the person to trust a number; "similar: HIVE-1234 *HiveServer2 drops
JDBC sessions on reconnect* (2018)" lets them check it at a glance, and often answers the question
outright. The index is built at training (export/ticket_index.py) from the training tickets, in the
model's own vocabulary and idf weights, and published beside the model (`tickets.npz`, sha256 in
the manifest). Similarity is the cosine of TF-IDF vectors, as the model sees text, found through an
inverted index: per term, the tickets that have it and their weight. numpy only.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO, NamedTuple

import numpy as np

INDEX_NAME = "tickets.npz"
INDEX_FORMAT = 1
MIN_SIMILARITY = 0.2
"""Below this a ticket shares too little with the question to be shown as evidence (on the real
data's time split: 89 % of summary-like questions have one of the right team's tickets above it)."""
MAX_POSTINGS_SHARE = 0.05
"""A term in more than this share of the tickets ("the", "error") only adds noise and time."""
TEXT_FIELDS = ("labels", "keys", "summaries", "urls")


class SimilarTicket(NamedTuple):
    key: str
    summary: str
    team: str
    year: int | None
    similarity: float
    url: str | None


class TicketIndexError(ValueError):
    """The file is not a ticket index this code can read."""


class TicketIndex:
    """Read-only once loaded: a warm worker shares it across requests."""

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        try:
            if int(arrays["format"]) != INDEX_FORMAT:
                raise TicketIndexError(
                    f"ticket index format {int(arrays['format'])}, expected {INDEX_FORMAT}"
                )
            self._idf = arrays["idf"]
            self._offsets = arrays["offsets"]
            self._tickets = arrays["tickets"]
            self._weights = arrays["weights"]
            self._team = arrays["team"]
            self._year = arrays["year"]
            text = {name: _lines(arrays[name]) for name in TEXT_FIELDS}
        except KeyError as error:
            raise TicketIndexError(f"ticket index lacks {error}") from None
        self.labels = text["labels"]
        self._keys, self._summaries, self._urls = text["keys"], text["summaries"], text["urls"]
        self._max_postings = max(1, int(MAX_POSTINGS_SHARE * len(self._keys)))
        if not (len(self._keys) == len(self._summaries) == len(self._urls) == len(self._team)):
            raise TicketIndexError("ticket index fields disagree on the number of tickets")

    @classmethod
    def load(cls, source: Path | BinaryIO) -> TicketIndex:
        """From a file or its bytes; no pickled objects are ever read from it."""
        try:
            with np.load(source, allow_pickle=False) as archive:
                return cls({name: archive[name] for name in archive.files})
        except (OSError, ValueError, EOFError) as error:
            raise TicketIndexError(f"not a ticket index: {error}") from None

    def __len__(self) -> int:
        return len(self._keys)

    def similar(
        self,
        term_ids: Sequence[int],
        team: str | None = None,
        k: int = 3,
        min_similarity: float = MIN_SIMILARITY,
    ) -> list[SimilarTicket]:
        """The `k` tickets (of `team`, or of any team) most like a question made of these terms."""
        if team is not None and team not in self.labels:
            return []
        scores = self.scores(term_ids)
        return self.best(scores, team, k, min_similarity) if scores is not None else []

    def scores(self, term_ids: Sequence[int]) -> np.ndarray | None:
        """Every ticket's cosine with a question made of these terms (binary TF, the model's idf);
        None when the question has no term worth looking up."""
        # A set, not np.unique: a question has a few dozen terms, and np.unique's first call imports
        # numpy.ma (~70 ms of a cold worker's first answer).
        ids = np.fromiter(sorted({t for t in term_ids if 0 <= t < len(self._idf)}), dtype=np.int64)
        if not len(ids):
            return None
        idf = self._idf[ids].astype(np.float64)
        query = idf / np.sqrt(np.dot(idf, idf))
        starts, ends = self._offsets[ids], self._offsets[ids + 1]
        tickets, weights = [], []
        for start, end, q in zip(starts.tolist(), ends.tolist(), query.tolist(), strict=True):
            if 0 < end - start <= self._max_postings:
                tickets.append(self._tickets[start:end])
                weights.append(self._weights[start:end].astype(np.float64) * q)
        if not tickets:
            return None
        return np.bincount(np.concatenate(tickets), np.concatenate(weights), minlength=len(self._keys))

    def best(
        self,
        scores: np.ndarray,
        team: str | None = None,
        k: int = 3,
        min_similarity: float = MIN_SIMILARITY,
    ) -> list[SimilarTicket]:
        """The `k` highest `scores` (of `team`'s tickets, or of all) at or above `min_similarity`."""
        if team is not None:
            scores = np.where(self._team == self.labels.index(team), scores, 0.0)
        best = np.argpartition(-scores, min(k, len(scores) - 1))[:k]
        best = best[np.argsort(-scores[best], kind="stable")]
        return [self._ticket(int(i), float(scores[i])) for i in best if scores[i] >= min_similarity]

    def _ticket(self, i: int, similarity: float) -> SimilarTicket:
        year = int(self._year[i])
        return SimilarTicket(
            key=self._keys[i],
            summary=self._summaries[i],
            team=self.labels[int(self._team[i])],
            year=year or None,
            similarity=round(similarity, 4),
            url=self._urls[i] or None,
        )


def _lines(blob: np.ndarray) -> list[str]:
    """A text field stored as UTF-8 lines in a uint8 array (no pickled objects in the file)."""
    text = blob.tobytes().decode("utf-8")
    return text.split("\n") if text else []


def text_array(values: Sequence[str]) -> np.ndarray:
    """The inverse of `_lines`: one line per value (newlines inside a value become spaces)."""
    joined = "\n".join(" ".join(value.split("\n")) for value in values)
    return np.frombuffer(joined.encode("utf-8"), dtype=np.uint8)
