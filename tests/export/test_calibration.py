"""Reliability bins and the expected calibration error on hand-made cases; the diagram is a PNG."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from export.calibration import plot_reliability, reliability


def test_a_calibrated_model_has_no_error() -> None:
    confidence = np.array([0.9] * 10 + [0.5] * 10)
    correct = np.array([True] * 9 + [False] + [True] * 5 + [False] * 5)
    curve = reliability(confidence, correct, bins=10)
    assert curve["ece"] == 0.0
    assert curve["bins"] == [
        {"confidence": 0.5, "accuracy": 0.5, "count": 10},
        {"confidence": 0.9, "accuracy": 0.9, "count": 10},
    ]


def test_overconfidence_is_weighted_by_how_many_answers_a_bin_holds() -> None:
    confidence = np.array([0.95] * 30 + [0.55] * 10)
    correct = np.array([True] * 15 + [False] * 15 + [True] * 5 + [False] * 5)
    # 30 answers 0.45 too confident, 10 answers 0.05 too confident: (30 * .45 + 10 * .05) / 40 = 0.35
    assert reliability(confidence, correct, bins=10)["ece"] == 0.35


def test_the_diagram_is_a_png(tmp_path: Path) -> None:
    confidence = np.linspace(0.2, 1.0, 50)
    curve = reliability(confidence, confidence > 0.5)
    path = tmp_path / "reliability.png"
    plot_reliability({"summary": curve, "who knows": curve}, path, threshold=0.6)
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
