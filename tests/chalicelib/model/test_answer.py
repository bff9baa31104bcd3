"""An answer from a real exported model: confident, unsure or about words the model never saw."""

from __future__ import annotations

from pathlib import Path

import pytest

from chalicelib.model.answer import answer_question
from chalicelib.model.predictor import Predictor


@pytest.fixture(scope="module")
def predictor(sample_model_dir: Path) -> Predictor:
    return Predictor(sample_model_dir / "model.onnx")


def test_a_clear_question_is_confident_and_says_why(predictor: Predictor) -> None:
    answer = answer_question(predictor, "our iOS push notifications stopped", threshold=0.5)
    assert answer.kind == "confident" and answer.guesses[0].label == "MOBILE"
    assert "push" in answer.because
    line = answer.as_dict()
    assert line["answer"] == "confident" and line["teams"][0]["team"] == "MOBILE"
    assert len(line["teams"]) == 3 and line["threshold"] == 0.5


def test_below_the_threshold_it_is_unsure(predictor: Predictor) -> None:
    answer = answer_question(predictor, "our iOS push notifications stopped", threshold=0.9999)
    assert answer.kind == "unsure" and answer.guesses


@pytest.mark.parametrize("question", ["zzqx qqzx", "who knows?", "🔥", "&lt;@U1&gt;"])
def test_no_known_word_no_ranking_to_trust(predictor: Predictor, question: str) -> None:
    answer = answer_question(predictor, question, threshold=0.0)
    assert answer.kind == "unknown_words" and answer.known_words == 0 and answer.because == []


def test_slack_escaped_text_is_read_as_the_person_typed_it(predictor: Predictor) -> None:
    answer = answer_question(
        predictor, "who knows why the iOS &amp; Android push &lt;service&gt; stopped?", 0.5
    )
    assert answer.guesses[0].label == "MOBILE"
    assert all("&amp;" not in reason and reason != "amp" for reason in answer.because)
