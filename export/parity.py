"""The parity gate: the ONNX model must give the answers scikit-learn gives, or it is not written.

Checked on the held-out tickets and on inputs chosen to break tokenisers. Both sides get the same
normalised text, as in production (normalisation happens in Python before either model).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from sklearn.pipeline import Pipeline
from tqdm import tqdm

from chalicelib.model.predictor import Predictor
from chalicelib.text import normalize

MAX_PROBABILITY_DIFFERENCE = 1e-5
BATCH = 128

AWKWARD_INPUTS: tuple[str, ...] = (
    "",
    "   \t\r\n  ",
    "who knows?",
    "Café crème brûlée — naïve résumé, Ærøskøbing, straße",
    "🔥🔥 who knows why the build is 💥? 😀",
    "<@U024BE7LH> who owns <https://example.com/runbook|the runbook> in <#C0123ABCD|ops>? <!here>",
    "{code:java}\nat com.example.Foo.bar(Foo.java:42)\n{code} [see|https://example.com] h1. Title *bold*",
    "数据库连接超时 誰が知っていますか",
    "null\x00byte and \x1b[31mansi\x1b[0m control",
    "FSNamesystem HiveServer2 getBlockLocations() XMLHttpRequest",
    "a" * 100_000,
    ("word " * 20_000)[:100_000],
    "ERROR 2019-01-11 12:00:00,123 [main] " * 3000,
    "x",
    "the the the the",
)


@dataclass(frozen=True)
class ParityResult:
    inputs_checked: int
    label_agreement: float
    max_probability_difference: float
    passed: bool

    def as_dict(self) -> dict[str, float | int | bool]:
        return asdict(self)


def check_parity(
    pipeline: Pipeline, model_path: Path, texts: Sequence[str], progress: bool = True
) -> ParityResult:
    """Runs both models on `texts` (already normalised) plus the awkward inputs."""
    predictor = Predictor(model_path)
    if list(predictor.labels) != [str(c) for c in pipeline.classes_]:
        return ParityResult(0, 0.0, float("inf"), passed=False)
    inputs = list(texts) + [normalize(text) for text in AWKWARD_INPUTS]
    agree = 0
    worst = 0.0
    for start in tqdm(
        range(0, len(inputs), BATCH), desc="parity", unit="batch", disable=not progress, leave=False
    ):
        batch = inputs[start : start + BATCH]
        expected = pipeline.predict_proba(batch)
        actual = predictor.probabilities(batch)
        agree += int(np.sum(expected.argmax(axis=1) == actual.argmax(axis=1)))
        worst = max(worst, float(np.abs(expected - actual).max()))
    agreement = agree / len(inputs)
    return ParityResult(
        inputs_checked=len(inputs),
        label_agreement=agreement,
        max_probability_difference=worst,
        passed=agreement == 1.0 and worst <= MAX_PROBABILITY_DIFFERENCE,
    )
