"""The scikit-learn model: chosen so that its ONNX conversion is exact and its accuracy high.

- TF-IDF over word 1-2-grams of text already normalised by chalicelib.text: the vectoriser only
  splits on single spaces (`token_pattern=r"\\S+"`, `lowercase=False`), exactly what the ONNX
  Tokenizer does with `separators=[" "]`. `binary=True` stands in for `sublinear_tf`, which the
  converter does not reproduce, and scores better here anyway.
- `min_df` bounds the vocabulary, which sets the model's size and load time (the compact graph's
  cost per question grows with the question, not the vocabulary). Not `max_features`: its
  frequency cut-off can keep a bigram while dropping one of its words on a tie, and skl2onnx's
  reference graph (onnxruntime's TfIdfVectorizer) then scores that bigram differently
  ("jackson databind", error 1e-2). With `min_df` every kept bigram's words are kept too (a word
  is in every document its bigram is).
- LinearSVC with balanced class weights (small teams matter as much as large ones), wrapped in
  sigmoid calibration so the bot can say how sure it is. `ensemble=False` keeps a single linear
  model in the graph (the cross-validation folds only fit the calibrators).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC


@dataclass(frozen=True)
class ModelParams:
    min_df: int = 3
    c: float = 0.3
    calibration_folds: int = 3
    n_jobs: int = 2

    def as_dict(self) -> dict[str, float | int]:
        return dict(self.__dict__)


def build_pipeline(params: ModelParams, n_samples: int) -> Pipeline:
    """The pipeline for `n_samples` training rows (tiny corpora get min_df=1 and fewer folds)."""
    vectorizer = TfidfVectorizer(
        lowercase=False,
        token_pattern=r"\S+",
        ngram_range=(1, 2),
        min_df=params.min_df if n_samples >= 1000 else 1,
        binary=True,
        dtype=np.float32,
    )
    classifier = CalibratedClassifierCV(
        LinearSVC(C=params.c, class_weight="balanced"),
        method="sigmoid",
        cv=params.calibration_folds,
        ensemble=False,
        n_jobs=params.n_jobs,
    )
    return Pipeline([("tfidf", vectorizer), ("classifier", classifier)])


def training_rows(texts: list[str], summaries: list[str], teams: list[str]) -> tuple[list[str], list[str]]:
    """Each ticket twice: whole, and its summary alone. Slack questions are summary-sized, and
    training on summaries too lifts summary-only accuracy by about 3 points."""
    rows = texts + [s for s in summaries if s]
    labels = teams + [t for s, t in zip(summaries, teams, strict=True) if s]
    return rows, labels
