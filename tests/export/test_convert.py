"""Both graphs carry the metadata the worker needs and agree with each other."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from chalicelib.model.predictor import Predictor
from export.convert import GRAPHS, ConversionError, to_onnx
from export.dataset import load_dataset
from export.pipeline import ModelParams, fit_pipeline, training_rows
from export.sample import SAMPLE_TICKETS


@pytest.fixture(scope="module")
def fitted() -> tuple[object, list[str], list[str]]:
    data = load_dataset(SAMPLE_TICKETS, 5, False)
    params = ModelParams(calibration_folds=2, n_jobs=1)
    rows = training_rows(data.texts, data.summaries, data.lower_summaries, data.teams, params)
    pipeline = fit_pipeline(params, rows)
    return pipeline, [str(c) for c in pipeline.classes_], data.texts


def test_compact_and_skl2onnx_graphs_agree(fitted: tuple, tmp_path: Path) -> None:
    pipeline, labels, texts = fitted
    predictors = {}
    for graph in GRAPHS:
        path = tmp_path / f"{graph}.onnx"
        path.write_bytes(to_onnx(pipeline, labels, "v1", graph).SerializeToString())
        predictors[graph] = Predictor(path)
        assert predictors[graph].labels == tuple(labels)
        assert predictors[graph].version == "v1"
    compact, reference = (predictors[g].probabilities(texts) for g in GRAPHS)
    assert np.abs(compact - reference).max() <= 1e-5


def test_the_graph_is_recorded_in_the_model_metadata(fitted: tuple) -> None:
    pipeline, labels, _ = fitted
    metadata = {p.key: p.value for p in to_onnx(pipeline, labels, "v1").metadata_props}
    assert metadata["whoknows.graph"] == "compact"


def test_an_unknown_graph_is_a_clear_error(fitted: tuple) -> None:
    pipeline, labels, _ = fitted
    with pytest.raises(ConversionError, match="unknown graph 'dense'"):
        to_onnx(pipeline, labels, "v1", "dense")  # type: ignore[arg-type]


def test_predictor_ranks_the_same_with_or_without_the_graphs_ranking(fitted: tuple, tmp_path: Path) -> None:
    pipeline, labels, texts = fitted
    rankings = {}
    for graph in GRAPHS:  # skl2onnx's graph has no ranking outputs: the predictor sorts with numpy
        path = tmp_path / f"{graph}.onnx"
        path.write_bytes(to_onnx(pipeline, labels, "v1", graph).SerializeToString())
        predictor = Predictor(path)
        rankings[graph] = [[g.label for g in predictor.rank(text, top=len(labels))] for text in texts[:60]]
    assert rankings["compact"] == rankings["skl2onnx"]
