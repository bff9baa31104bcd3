"""The predictor ranks and scores as the graph does, read through a plain onnxruntime session."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort

from chalicelib.model.predictor import (
    INPUT_NAME,
    PROBABILITIES_OUTPUT,
    RANKED_OUTPUT,
    RANKING_OUTPUT,
    Predictor,
)
from chalicelib.text import normalize

QUESTIONS = ["who can fix the VAT on our refund invoices?", "login fails after SSO change", "", "zzqx"]


def test_rank_and_probabilities_are_the_graphs_own(sample_model_dir: Path) -> None:
    predictor = Predictor(sample_model_dir / "model.onnx")
    public = ort.InferenceSession(str(sample_model_dir / "model.onnx"), providers=["CPUExecutionProvider"])
    for question in QUESTIONS:
        feed = {INPUT_NAME: np.array([[normalize(question)]], dtype=object)}
        ranked_values, ranking = public.run([RANKED_OUTPUT, RANKING_OUTPUT], feed)
        ranked = predictor.rank(question, top=3)
        assert [guess.label for guess in ranked] == [predictor.labels[i] for i in ranking[0, :3]]
        assert [guess.probability for guess in ranked] == ranked_values[0, :3].tolist()
        assert ranked_values[0, :3].tolist() == sorted(ranked_values[0, :3].tolist(), reverse=True)
    batch = [normalize(q) for q in QUESTIONS]
    expected_rows = [
        public.run([PROBABILITIES_OUTPUT], {INPUT_NAME: np.array([[t]], dtype=object)})[0] for t in batch
    ]
    assert np.array_equal(predictor.probabilities(batch), np.concatenate(expected_rows))
