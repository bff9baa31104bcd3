"""Why the top team, in the person's own words: terms found back in the question as typed."""

from __future__ import annotations

from pathlib import Path

import pytest

from chalicelib.model.predictor import Explained, Guess, Predictor, Term
from chalicelib.model.reasons import reasons


def explained(tokens: str, *terms: tuple[int, int, float]) -> Explained:
    return Explained([Guess("TEAM", 0.9)], tokens.split(), len(tokens.split()), [Term(*t) for t in terms])


def test_terms_are_shown_as_the_whole_words_the_person_typed() -> None:
    question = "Who knows why HiveServer2 drops JDBC-driver sessions?"
    # normalised: hive server2 hiveserver2 drops jdbc driver sessions (the frame is gone)
    why = explained(
        "why hive server2 hiveserver2 drops jdbc driver sessions", (5, 7, 2.0), (1, 3, 1.5), (7, 8, 0.9)
    )
    assert reasons(question, why) == ["JDBC-driver", "HiveServer2", "sessions"]


def test_a_pair_the_question_does_not_show_is_skipped() -> None:
    # "server2 hiveserver2" is a pair of the normalised words, not of what was typed
    why = explained("hive server2 hiveserver2 sessions", (1, 3, 2.0), (3, 4, 1.0))
    assert reasons("HiveServer2 sessions", why) == ["sessions"]


def test_weak_overlapping_and_lowering_terms_are_left_out() -> None:
    question = "the login page is blank"
    why = explained(
        "the login page is blank",
        (1, 2, 2.0),  # login
        (1, 3, 1.6),  # login page: overlaps login
        (2, 3, 0.9),  # page
        (0, 1, 0.3),  # the: under a quarter of login's
        (4, 5, -0.5),  # blank lowered the team's score
    )
    assert reasons(question, why) == ["login", "page"]


def test_at_most_three_reasons_and_the_same_words_once() -> None:
    question = "Kafka kafka broker ZooKeeper quorum"
    why = explained(
        "kafka kafka broker zoo keeper zookeeper quorum",
        (0, 1, 3.0),
        (1, 2, 2.9),  # the second kafka: the same words again
        (2, 3, 2.0),
        (3, 4, 1.9),
        (6, 7, 1.8),
    )
    assert reasons(question, why) == ["Kafka", "broker", "ZooKeeper"]


def test_words_that_cannot_be_found_fall_back_to_the_models_terms() -> None:
    assert reasons("Ærøskøbing 😀 deploys", explained("rskbing deploys", (1, 2, 1.0))) == ["deploys"]
    assert reasons("zzqx", explained("abc", (0, 1, 1.0))) == ["abc"]


def test_no_known_terms_no_reasons() -> None:
    assert reasons("anything", explained("anything")) == []


@pytest.fixture(scope="module")
def predictor(sample_model_dir: Path) -> Predictor:
    return Predictor(sample_model_dir / "model.onnx")


def test_on_a_real_model_the_reasons_come_from_the_question(predictor: Predictor) -> None:
    question = "Our iOS push notifications stopped after the APNs certificate change"
    why = reasons(question, predictor.explain(question))
    assert 1 <= len(why) <= 3
    assert all(reason in question for reason in why)
