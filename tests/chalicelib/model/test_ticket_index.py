"""Past tickets like a question, from an index built the way training builds it: cosine over the
model's TF-IDF vectors, per team or over all, with a floor below which nothing is shown."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from chalicelib.model.ticket_index import TicketIndex, TicketIndexError
from chalicelib.text import normalize
from export.dataset import load_dataset
from export.sample import SAMPLE_TICKETS
from export.ticket_index import build_ticket_index, write_ticket_index


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[TicketIndex, TfidfVectorizer, object]:
    data = load_dataset(SAMPLE_TICKETS, 5, False)
    vectorizer = TfidfVectorizer(lowercase=False, token_pattern=r"\S+", ngram_range=(1, 2), binary=True)
    vectorizer.fit(data.texts + data.summaries)
    labels = sorted(set(data.teams))
    path = tmp_path_factory.mktemp("index") / "tickets.npz"
    write_ticket_index(build_ticket_index(vectorizer, labels, data, range(len(data))), path)
    return TicketIndex.load(path), vectorizer, data


def term_ids(vectorizer: TfidfVectorizer, question: str) -> list[int]:
    vector = vectorizer.transform([normalize(question)])
    return vector.indices.tolist()


def test_a_tickets_own_summary_finds_it_first(built: tuple) -> None:
    index, vectorizer, data = built
    unique = [i for i, s in enumerate(data.summaries) if data.summaries.count(s) == 1]
    for i in unique[::40]:
        [first, *_] = index.similar(term_ids(vectorizer, data.raw_summaries[i]), k=3, min_similarity=0.0)
        assert (first.key, first.team) == (data.keys[i], data.teams[i])
        assert first.similarity > 0.3


def test_results_are_most_similar_first_and_of_the_asked_team(built: tuple) -> None:
    index, vectorizer, _ = built
    ids = term_ids(vectorizer, "refund invoice VAT is wrong for a customer in Germany")
    found = index.similar(ids, team="PAYMENTS", k=3, min_similarity=0.0)
    assert [t.team for t in found] == ["PAYMENTS"] * 3
    assert [t.similarity for t in found] == sorted((t.similarity for t in found), reverse=True)
    assert all(t.key and t.year for t in found)


def test_nothing_similar_enough_gives_nothing(built: tuple) -> None:
    index, vectorizer, _ = built
    assert index.similar(term_ids(vectorizer, "refund"), team="MOBILE", min_similarity=0.9) == []
    assert index.similar([], team="PAYMENTS") == []
    assert index.similar([10**9, -1]) == []  # ids outside the vocabulary are no terms
    assert index.similar(term_ids(vectorizer, "refund"), team="NO SUCH TEAM") == []


def test_it_loads_from_bytes_and_refuses_what_is_not_an_index(built: tuple, tmp_path: Path) -> None:
    index, _, data = built
    assert len(index) == len(data)
    buffer = io.BytesIO()
    np.savez(buffer, format=np.array(1), idf=np.ones(3, dtype=np.float32))
    with pytest.raises(TicketIndexError, match="lacks"):
        TicketIndex.load(io.BytesIO(buffer.getvalue()))
    with pytest.raises(TicketIndexError, match="not a ticket index"):
        TicketIndex.load(io.BytesIO(b"not a zip"))
    bad = io.BytesIO()
    np.savez(bad, format=np.array(99))
    with pytest.raises(TicketIndexError, match="format 99"):
        TicketIndex.load(io.BytesIO(bad.getvalue()))
