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
- `max_terms` caps it for a size budget (`terms_for_budget`): the model stores a weight per term
  and team, so 100 teams afford a tenth of the terms 8 do. The most frequent terms are kept, a
  word ahead of a pair on a tie, so a kept pair's words are always kept too (a word's count is at
  least its pair's).
- LinearSVC with balanced class weights (small teams matter as much as large ones), fitted a team
  per process and, where a team's negatives outnumber its rows more than `negatives_per_positive`
  times, on a sample of them (export/team_svm.py); wrapped in sigmoid calibration so the bot can
  say how sure it is. `ensemble=False` keeps a single linear model in the graph (the
  cross-validation folds only fit the calibrators).
- Rows: each ticket whole, its summary alone (questions are summary-sized), and the summary as
  people type it (lower-cased before normalising, so "hiveserver2" stays one word) at half weight.
  The vocabulary comes from the first two kinds only, so a term of one or two tickets does not get
  in by being repeated in its lower-case row.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer, TfidfVectorizer
from sklearn.pipeline import Pipeline
from tqdm import tqdm

from export.team_svm import TeamLinearSVC, negatives_kept


@dataclass(frozen=True)
class ModelParams:
    min_df: int = 3
    c: float = 0.3
    calibration_folds: int = 3
    n_jobs: int = 2
    """Processes fitting teams at once."""
    negatives_per_positive: float | None = 10.0
    """A team is fitted against at most this many of the other teams' rows per row of its own (at
    least `min_negatives`), sampled; None: against all of them."""
    min_negatives: int = 20_000
    lower_summary_weight: float = 0.5
    """The weight of a summary typed in lower case (its ticket's whole and summary rows weigh 1)."""
    max_terms: int | None = None
    """Keep at most this many terms, the most frequent (None: every term in min_df tickets)."""
    half_precision: bool = True
    """Round the fitted weights to what float16 holds (`round_weights_to_half`)."""

    def as_dict(self) -> dict[str, float | int]:
        return dict(self.__dict__)


@dataclass
class TrainingRows:
    """What a model is fitted on: texts (normalised), their teams and weights."""

    texts: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)
    vocabulary_rows: int = 0
    """How many of the first rows the vocabulary is chosen from (the tickets' own rows)."""
    tickets: int = 0

    def add(self, texts: Sequence[str], labels: Sequence[str], weight: float) -> None:
        self.texts += texts
        self.labels += labels
        self.weights += [weight] * len(texts)


def typed_row(summary: str, lower_summary: str) -> bool:
    """Whether a ticket's summary as people type it makes a row of its own (it differs)."""
    return bool(lower_summary) and lower_summary != summary


def team_row_counts(
    summaries: Sequence[str], lower_summaries: Sequence[str], teams: Sequence[str]
) -> Counter[str]:
    """The rows per team `training_rows` makes of these tickets, without making them."""
    counts: Counter[str] = Counter()
    for summary, lower, team in zip(summaries, lower_summaries, teams, strict=True):
        counts[team] += 1 + bool(summary) + typed_row(summary, lower)
    return counts


def training_rows(
    texts: Sequence[str],
    summaries: Sequence[str],
    lower_summaries: Sequence[str],
    teams: Sequence[str],
    params: ModelParams,
) -> TrainingRows:
    """Each ticket whole, its summary alone, and its summary as people type it where that differs."""
    rows = TrainingRows(tickets=len(texts))
    rows.add(texts, teams, 1.0)
    kept = [(s, t) for s, t in zip(summaries, teams, strict=True) if s]
    rows.add([s for s, _ in kept], [t for _, t in kept], 1.0)
    rows.vocabulary_rows = len(rows.texts)
    typed = [
        (low, t) for low, s, t in zip(lower_summaries, summaries, teams, strict=True) if typed_row(s, low)
    ]
    rows.add([low for low, _ in typed], [t for _, t in typed], params.lower_summary_weight)
    return rows


SMALL_FIT_ROWS = 20_000
"""Below this many training rows a calibrated fit takes under a second in one process, less than
starting the worker processes a parallel fit needs (~4 s the first time)."""


def jobs_for(params: ModelParams, rows: TrainingRows) -> int:
    """The processes to fit `rows` with: one for a small fit, else `params.n_jobs`."""
    return 1 if len(rows.texts) < SMALL_FIT_ROWS else params.n_jobs


class TermCounts:
    """Which words and word pairs each text has (binary counts over every term), counted once.

    `train` fits three models on nested sets of the same tickets; tokenising their rows once, not
    per fit, saves two passes over the data (minutes at 300,000 tickets). A fit then reads its
    rows and its vocabulary's columns from here: the same numbers TfidfVectorizer would count."""

    def __init__(self, texts: Sequence[str], progress: bool = False) -> None:
        counter = CountVectorizer(
            lowercase=False, token_pattern=r"\S+", ngram_range=(1, 2), binary=True, dtype=np.float32
        )
        shown = tqdm(
            texts, desc="counting terms", unit=" rows", unit_scale=True, disable=not progress, file=sys.stderr
        )
        self.matrix = counter.fit_transform(shown).tocsr()
        self.terms = counter.get_feature_names_out()  # sorted: a column's rank is its term's
        self.row_of = {text: row for row, text in enumerate(texts)}

    def vocabulary(self, columns: np.ndarray) -> dict[str, int]:
        """The terms of these columns as a TfidfVectorizer vocabulary (term -> feature)."""
        return {str(term): i for i, term in enumerate(self.terms[columns])}

    def rows(self, texts: Sequence[str]) -> Any:
        """The counts of these texts (each counted when this was built), one row per text."""
        return self.matrix[[self.row_of[text] for text in texts]]


def choose_columns(params: ModelParams, counts: TermCounts, vocabulary_rows: Any, tickets: int) -> np.ndarray:
    """The columns of the terms in at least min_df of the vocabulary rows (tiny corpora: every
    term), capped at `max_terms`, the most frequent first, a word ahead of a pair on a tie."""
    frequency = np.asarray(vocabulary_rows.sum(axis=0)).ravel()
    columns = np.flatnonzero(frequency >= (params.min_df if tickets >= 1000 else 1))
    if params.max_terms is not None and len(columns) > params.max_terms:
        is_pair = np.array([" " in term for term in counts.terms[columns]])
        order = np.lexsort((columns, is_pair, -frequency[columns]))  # last key first
        columns = np.sort(columns[order[: params.max_terms]])
    return columns


def choose_vocabulary(params: ModelParams, rows: TrainingRows) -> dict[str, int]:
    """The vocabulary `fit_pipeline` would choose for these rows: term -> column."""
    counts = TermCounts(rows.texts)
    columns = choose_columns(params, counts, counts.matrix[: rows.vocabulary_rows], rows.tickets)
    return counts.vocabulary(columns)


TERM_OVERHEAD_BYTES = 28
"""What a term costs in the compact graph besides its team weights: its float32 idf for the norm,
and its word's string in the word table or the pair's two int64s in the bigram table."""


def terms_for_budget(model_bytes: int, teams: int, half_precision: bool = True) -> int:
    """How many terms a compact graph of `model_bytes` holds: each term has a weight per decision
    column (one per team; one for two teams), float16 or float32."""
    columns = 1 if teams == 2 else teams
    return max(1, model_bytes // ((2 if half_precision else 4) * columns + TERM_OVERHEAD_BYTES))


def round_weights_to_half(pipeline: Pipeline) -> None:
    """Rounds the fitted linear model's weights so that, scaled as the compact graph stores them
    (idf x weight x Platt's slope), float16 holds them exactly; scikit-learn then predicts with the
    very numbers the graph ships, and the parity gate compares that model. Rounding moves a
    decision value by ~0.05 %, far below what changes a ranking; the graph's weights take half
    the bytes."""
    from export.compact_graph import linear_parts, scaled_weights

    classifier = pipeline.named_steps["classifier"]
    coef, _, platt_a, _ = linear_parts(classifier)
    idf = np.asarray(pipeline.named_steps["tfidf"].idf_, dtype=np.float64)
    with np.errstate(over="ignore"):
        half = scaled_weights(coef, idf, platt_a).astype(np.float16).astype(np.float64)
    if not np.isfinite(half).all():
        return  # a weight beyond float16's range: the model keeps float32 weights
    slope = np.where(platt_a == 0, 1.0, -platt_a)  # a zero slope ignores the decision anyway
    classifier.calibrated_classifiers_[0].estimator.coef_ = np.asfortranarray((half / slope).T / idf)


def build_pipeline(
    params: ModelParams,
    vocabulary: dict[str, int] | None = None,
    progress: Callable[[int], None] | None = None,
) -> Pipeline:
    """The unfitted pipeline: over `vocabulary` when given (`choose_vocabulary`), else over the terms
    in at least `min_df` of the rows it is fitted on. `progress` hears of each team's rows fitted."""
    vectorizer = TfidfVectorizer(
        vocabulary=vocabulary,
        lowercase=False,
        token_pattern=r"\S+",
        ngram_range=(1, 2),
        min_df=1 if vocabulary is not None else params.min_df,
        binary=True,
        dtype=np.float32,
    )
    svm = TeamLinearSVC(
        C=params.c,
        negatives_per_positive=params.negatives_per_positive,
        min_negatives=params.min_negatives,
        n_jobs=params.n_jobs,
        progress=progress,
    )
    classifier = CalibratedClassifierCV(svm, method="sigmoid", cv=params.calibration_folds, ensemble=False)
    return Pipeline([("tfidf", vectorizer), ("classifier", classifier)])


def fitted_rows(params: ModelParams, team_rows: Mapping[str, int]) -> int:
    """The rows a calibrated fit's team problems add up to (each fold's fit and the final one):
    the work a progress bar counts, known before the fit starts."""

    def one_fit(share: float) -> float:
        total = share * sum(team_rows.values())
        if len(team_rows) == 2:  # one problem over every row
            return total
        ratio, least = params.negatives_per_positive, params.min_negatives
        return sum(
            share * n + negatives_kept(share * n, total - share * n, ratio, least) for n in team_rows.values()
        )

    folds = params.calibration_folds
    return round(one_fit(1.0) + folds * one_fit((folds - 1) / folds))


def fit_pipeline(
    params: ModelParams,
    rows: TrainingRows,
    progress: Callable[[int], None] | None = None,
    counts: TermCounts | None = None,
) -> Pipeline:
    """The fitted pipeline, its rows read from `counts` when given (else counted here); raises
    ValueError when a team has too few rows for calibration.

    The TF-IDF step is fitted as TfidfVectorizer.fit would fit it: the chosen vocabulary, idf over
    every row; its counts come from `counts`, and its idf goes to the vectorizer the pipeline ships."""
    counts = counts if counts is not None else TermCounts(rows.texts)
    matrix = counts.rows(rows.texts)
    columns = choose_columns(params, counts, matrix[: rows.vocabulary_rows], rows.tickets)
    pipeline = build_pipeline(params, counts.vocabulary(columns), progress)
    vectorizer, classifier = pipeline.named_steps["tfidf"], pipeline.named_steps["classifier"]
    weighting = TfidfTransformer(norm=vectorizer.norm, use_idf=True, smooth_idf=vectorizer.smooth_idf)
    features = weighting.fit_transform(matrix[:, columns])
    vectorizer.idf_ = weighting.idf_
    classifier.fit(features, rows.labels, sample_weight=np.asarray(rows.weights))
    # The progress callback belongs to this run, not to the model: dropped, so the model pickles.
    pipeline.set_params(classifier__estimator__progress=None)
    for calibrated in classifier.calibrated_classifiers_:
        calibrated.estimator.set_params(progress=None)
    if params.half_precision:
        round_weights_to_half(pipeline)
    return pipeline
