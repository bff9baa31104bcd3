"""export.parity: the gate passes a model.onnx against the pipeline it was converted from, on the
held-out texts and every awkward input; it fails, with the agreement and difference reported, for
a pipeline from another fit, for a disagreement on any single awkward input, and (checking
nothing) when the label order differs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import cast

import numpy as np
import pytest
from sklearn.pipeline import Pipeline

from chalicelib.model.manifest import MODEL_NAME
from chalicelib.text import normalize
from export.parity import AWKWARD_INPUTS, BATCH, MAX_PROBABILITY_DIFFERENCE, check_parity
from export.pipeline import ModelParams, fit_pipeline, training_rows
from export.sample import SAMPLE_TICKETS
from export.train import TrainResult, train


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> TrainResult:
    """The sample model, with the scikit-learn pipeline its model.onnx was converted from."""
    out = tmp_path_factory.mktemp("parity-model")
    return train(SAMPLE_TICKETS, out, min_tickets_per_team=5, progress=False)


def model_path(trained: TrainResult) -> Path:
    return trained.out_dir / MODEL_NAME


def held_out_texts(trained: TrainResult) -> list[str]:
    return [trained.dataset.texts[i] for i in trained.test_indices]


def fit_other(trained: TrainResult, indices: list[int], params: ModelParams) -> Pipeline:
    data = trained.dataset
    rows = training_rows(
        [data.texts[i] for i in indices],
        [data.summaries[i] for i in indices],
        [data.lower_summaries[i] for i in indices],
        [data.teams[i] for i in indices],
        params,
    )
    return fit_pipeline(params, rows)


class StandInPipeline:
    """Wraps a fitted pipeline: records every text it is asked about, can answer one text with a
    different team, can shift probabilities slightly without changing any answer, and can present
    its labels in another order."""

    def __init__(
        self,
        inner: Pipeline,
        wrong_for: str | None = None,
        classes: Sequence[str] | None = None,
        shift: float = 0.0,
    ) -> None:
        self.inner = inner
        self.wrong_for = wrong_for
        self.shift = shift
        self.classes_ = np.array(list(classes) if classes is not None else inner.classes_)
        self.seen: list[str] = []

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        self.seen.extend(texts)
        probabilities = self.inner.predict_proba(texts)
        if self.shift:
            best = probabilities.argmax(axis=1)
            rows = np.arange(len(texts))
            probabilities[rows, best] += self.shift  # the top team only gains: every answer stays
        for row, text in enumerate(texts):
            if text == self.wrong_for:
                other = (int(probabilities[row].argmax()) + 1) % probabilities.shape[1]
                probabilities[row] = np.eye(probabilities.shape[1])[other]
        return probabilities


def test_the_shipped_pipeline_and_its_onnx_model_agree(trained: TrainResult) -> None:
    texts = held_out_texts(trained)
    assert texts
    result = check_parity(trained.pipeline, model_path(trained), texts, progress=False)
    assert result.passed is True
    assert result.label_agreement == 1.0
    assert 0.0 <= result.max_probability_difference <= MAX_PROBABILITY_DIFFERENCE
    assert result.inputs_checked == len(texts) + len(AWKWARD_INPUTS)
    assert result.as_dict() == {
        "inputs_checked": result.inputs_checked,
        "label_agreement": 1.0,
        "max_probability_difference": result.max_probability_difference,
        "passed": True,
    }


def test_every_text_and_every_normalised_awkward_input_is_checked_once(trained: TrainResult) -> None:
    texts = trained.dataset.texts
    assert len(texts) + len(AWKWARD_INPUTS) > 2 * BATCH  # several batches
    recorder = StandInPipeline(trained.pipeline)
    result = check_parity(cast(Pipeline, recorder), model_path(trained), texts, progress=False)
    assert result.passed is True
    assert result.inputs_checked == len(texts) + len(AWKWARD_INPUTS)
    assert sorted(recorder.seen) == sorted([*texts, *(normalize(text) for text in AWKWARD_INPUTS)])


def test_with_no_texts_the_awkward_inputs_are_still_checked(trained: TrainResult) -> None:
    result = check_parity(trained.pipeline, model_path(trained), [], progress=False)
    assert result.passed is True
    assert result.inputs_checked == len(AWKWARD_INPUTS)


@pytest.mark.parametrize("awkward", AWKWARD_INPUTS, ids=[f"awkward-{i}" for i in range(len(AWKWARD_INPUTS))])
def test_a_disagreement_on_one_awkward_input_fails_the_gate(trained: TrainResult, awkward: str) -> None:
    texts = held_out_texts(trained)
    inputs = [*texts, *(normalize(text) for text in AWKWARD_INPUTS)]
    wrong = normalize(awkward)
    stand_in = StandInPipeline(trained.pipeline, wrong_for=wrong)
    result = check_parity(cast(Pipeline, stand_in), model_path(trained), texts, progress=False)
    assert result.passed is False
    assert result.inputs_checked == len(inputs)
    assert result.label_agreement == (len(inputs) - inputs.count(wrong)) / len(inputs)
    assert result.max_probability_difference > 0.1


def test_probabilities_off_by_more_than_the_tolerance_fail_even_when_every_answer_agrees(
    trained: TrainResult,
) -> None:
    texts = held_out_texts(trained)
    stand_in = StandInPipeline(trained.pipeline, shift=10 * MAX_PROBABILITY_DIFFERENCE)
    result = check_parity(cast(Pipeline, stand_in), model_path(trained), texts, progress=False)
    assert result.label_agreement == 1.0
    assert result.passed is False
    assert result.max_probability_difference == pytest.approx(10 * MAX_PROBABILITY_DIFFERENCE, rel=0.2)


@pytest.mark.parametrize(
    ("which", "params"),
    [
        ("train-split", ModelParams(n_jobs=1)),  # the evaluated fit, on the older tickets only
        ("all", ModelParams(c=5.0, calibration_folds=2, n_jobs=1)),  # every ticket, other parameters
    ],
    ids=["subset", "other-params"],
)
def test_a_pipeline_from_another_fit_fails_the_gate(
    trained: TrainResult, which: str, params: ModelParams
) -> None:
    train_indices = sorted(set(range(len(trained.dataset))) - set(trained.test_indices))
    indices = train_indices if which == "train-split" else list(range(len(trained.dataset)))
    other = fit_other(trained, indices, params)
    assert list(other.classes_) == list(trained.pipeline.classes_)
    texts = held_out_texts(trained)
    result = check_parity(other, model_path(trained), texts, progress=False)
    assert result.passed is False
    assert result.inputs_checked == len(texts) + len(AWKWARD_INPUTS)
    assert result.max_probability_difference > 0.01  # far beyond MAX_PROBABILITY_DIFFERENCE
    assert 0.5 < result.label_agreement <= 1.0  # the same task: most labels still agree


def test_labels_in_another_order_fail_without_checking_anything(trained: TrainResult) -> None:
    reordered = StandInPipeline(trained.pipeline, classes=list(reversed(trained.pipeline.classes_)))
    result = check_parity(
        cast(Pipeline, reordered), model_path(trained), held_out_texts(trained), progress=False
    )
    assert (result.passed, result.inputs_checked, result.label_agreement) == (False, 0, 0.0)
    assert result.max_probability_difference == float("inf")
    assert reordered.seen == []


def test_a_pipeline_with_other_teams_fails_without_checking_anything(trained: TrainResult) -> None:
    data = trained.dataset
    keep = sorted(set(data.teams))[:3]
    indices = [i for i, team in enumerate(data.teams) if team in keep]
    fewer = fit_other(trained, indices, ModelParams(n_jobs=1))
    assert list(fewer.classes_) == keep
    result = check_parity(fewer, model_path(trained), held_out_texts(trained), progress=False)
    assert (result.passed, result.inputs_checked, result.label_agreement) == (False, 0, 0.0)
