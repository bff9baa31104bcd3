"""The ticket index at training: what is indexed, how its quality is measured, that it is left out
on request, and that publish carries it with the model for the worker to check."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from chalicelib.model.errors import ModelCorrupt
from chalicelib.model.manifest import parse_manifest
from chalicelib.model.store import ModelStore
from chalicelib.model.ticket_index import INDEX_NAME, TicketIndex
from export.dataset import load_dataset
from export.publish import publish
from export.sample import SAMPLE_TICKETS
from export.ticket_index import build_ticket_index, evidence_quality, index_texts
from export.train import train


def test_the_summary_is_indexed_with_as_many_description_words_as_asked() -> None:
    data = load_dataset(SAMPLE_TICKETS, 5, False)
    [summary_only] = index_texts(data, [0])
    [with_words] = index_texts(data, [0], description_words=4)
    assert summary_only == data.summaries[0]
    assert (
        with_words.startswith(data.summaries[0]) and len(with_words.split()) == len(summary_only.split()) + 4
    )


def test_the_shipped_index_covers_every_ticket_and_is_in_the_manifest(sample_model_dir: Path) -> None:
    manifest = parse_manifest((sample_model_dir / "manifest.json").read_bytes())
    assert manifest.ticket_index is not None and manifest.ticket_index.path == INDEX_NAME
    raw = (sample_model_dir / INDEX_NAME).read_bytes()
    assert hashlib.sha256(raw).hexdigest() == manifest.ticket_index.sha256
    assert len(TicketIndex.load(sample_model_dir / INDEX_NAME)) == manifest.extra["training_data"]["tickets"]
    evidence = manifest.extra["metrics"]["evidence"]["summary as written"]
    assert 0 < evidence["first_similar_right_team"] <= evidence["any_of_three_right_team"] <= 1


def test_evidence_quality_counts_right_team_neighbours() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    data = load_dataset(SAMPLE_TICKETS, 5, False)
    vectorizer = TfidfVectorizer(lowercase=False, token_pattern=r"\S+", binary=True).fit(data.texts)
    index = TicketIndex(build_ticket_index(vectorizer, sorted(set(data.teams)), data, range(len(data))))
    asked = {"own summaries": [data.summaries[0]], "nonsense": ["zzqx"]}
    truth = [data.teams[0]]
    quality = evidence_quality(index, vectorizer, asked, truth, {k: truth for k in asked})
    assert quality["nonsense"] == {
        "first_similar_right_team": 0.0,
        "any_of_three_right_team": 0.0,
        "answers_with_evidence": 0.0,
    }
    assert quality["own summaries"]["any_of_three_right_team"] == 1.0


def test_evidence_is_measured_on_at_most_limit_questions_spread_evenly() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    data = load_dataset(SAMPLE_TICKETS, 5, False)
    vectorizer = TfidfVectorizer(lowercase=False, token_pattern=r"\S+", binary=True).fit(data.texts)
    index = TicketIndex(build_ticket_index(vectorizer, sorted(set(data.teams)), data, range(len(data))))
    texts = [data.summaries[0], "zzqx", "zzqx", data.summaries[3]]  # the first and last are found
    truth = [data.teams[i] for i in range(4)]
    asked = {"form": texts}
    every = evidence_quality(index, vectorizer, asked, truth, {"form": truth})
    spread = evidence_quality(index, vectorizer, asked, truth, {"form": truth}, limit=2)
    assert every["form"]["any_of_three_right_team"] == 0.5
    assert spread["form"]["any_of_three_right_team"] == 1.0  # the first and the last question


def test_no_ticket_index_leaves_it_out(tmp_path: Path) -> None:
    result = train(SAMPLE_TICKETS, tmp_path, min_tickets_per_team=5, progress=False, ticket_index=False)
    assert result.manifest.ticket_index is None
    assert not (tmp_path / INDEX_NAME).exists() and "evidence" not in result.metrics


def test_publish_uploads_the_index_and_a_tampered_one_is_refused(
    sample_model_dir: Path, s3_bucket: tuple[Any, str], tmp_path: Path
) -> None:
    client, bucket = s3_bucket
    publish(sample_model_dir, f"s3://{bucket}/models", client)
    store = ModelStore(f"s3://{bucket}/models", tmp_path / "cache", s3_client=client)
    pointer = store.read_manifest()
    assert pointer is not None and pointer.ticket_index is not None
    assert pointer.ticket_index.path == f"versions/{pointer.version}/{INDEX_NAME}"
    assert store.fetch_ticket_index(pointer) == (sample_model_dir / INDEX_NAME).read_bytes()

    client.put_object(Bucket=bucket, Key=f"models/{pointer.ticket_index.path}", Body=b"tampered")
    with pytest.raises(ModelCorrupt, match="ticket index"):
        store.fetch_ticket_index(pointer)
