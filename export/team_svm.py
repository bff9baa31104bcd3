"""LinearSVC's one-vs-rest model, fitted a team at a time: on both cores, and at scale on a sample
of each team's negatives.

LinearSVC fits its one-vs-rest problems one after another on one core, each over every row: a
cost of rows x teams that took most of an hour at 300,000 tickets and 100 teams. Each team's
problem here is the same one liblinear solves inside LinearSVC (the team's rows at C times its
balanced class weight against every other row at C), fitted as its own binary LinearSVC in one
of `n_jobs` joblib worker processes (the data is memory-mapped, not copied). Not threads: liblinear
draws its coordinate order from one process-wide generator, so two teams fitted at once on
threads would make the model depend on thread timing.

With `negatives_per_positive` set, a team whose other teams' rows outnumber its own by more than
that keeps that many of them (drawn at random, every other team alike, seeded per team), weighted
up by the inverse of the share kept so the objective is the same in expectation. A hundred teams then
cost about what eight do; the answer-quality and scale benchmarks report what it costs in top-1.

It is a LinearSVC (same decision function, coef_, intercept_ and classes_), so calibration,
the compact graph and skl2onnx read it as one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from joblib import Parallel, delayed
from sklearn.svm import LinearSVC
from sklearn.utils import check_array
from sklearn.utils.class_weight import compute_class_weight


class TeamLinearSVC(LinearSVC):
    """LinearSVC(class_weight="balanced") fitted a team at a time in `n_jobs` processes."""

    def __init__(
        self,
        C: float = 1.0,
        *,
        negatives_per_positive: float | None = None,
        min_negatives: int = 20_000,
        n_jobs: int = 1,
        tol: float = 1e-4,
        random_state: int = 0,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        super().__init__(C=C, class_weight="balanced", tol=tol, random_state=random_state)
        self.negatives_per_positive = negatives_per_positive
        self.min_negatives = min_negatives
        self.n_jobs = n_jobs
        self.progress = progress
        """Called with each team's fitted rows as it finishes (a progress bar's update)."""

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> TeamLinearSVC:
        X = check_array(X, accept_sparse="csr", dtype=np.float64, order="C")
        y = np.asarray(y)
        weights = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError(f"a classifier needs at least two teams, got {len(self.classes_)}")
        self.n_features_in_ = X.shape[1]
        if len(self.classes_) == 2:  # one decision column, as LinearSVC has for two classes
            model = _linear_svc(self.C, self.tol, self.random_state, self.class_weight)
            model.fit(X, y, sample_weight=weights)
            self.coef_, self.intercept_, self.n_iter_ = model.coef_, model.intercept_, model.n_iter_
            self._report(X.shape[0])
            return self
        balanced = compute_class_weight("balanced", classes=self.classes_, y=y, sample_weight=weights)
        sampling = (self.negatives_per_positive, self.min_negatives, self.random_state)
        teams = Parallel(n_jobs=self.n_jobs, return_as="generator")(
            delayed(_fit_team)(X, y == team, weights, balanced[k], k, sampling, (self.C, self.tol))
            for k, team in enumerate(self.classes_)
        )
        coefs, intercepts, iterations = [], [], []
        for coef, intercept, n_iter, rows in teams:
            coefs.append(coef)
            intercepts.append(intercept)
            iterations.append(n_iter)
            self._report(rows)
        # Column-major, as liblinear's own: decision_function's X @ coef_.T then reads it in place
        # instead of copying every weight on every call (1.3 ms a question at 123,000 terms).
        self.coef_ = np.asfortranarray(np.vstack(coefs))
        self.intercept_, self.n_iter_ = np.array(intercepts), max(iterations)
        return self

    def _report(self, rows: int) -> None:
        if self.progress is not None:
            self.progress(rows)


Sampling = tuple[float | None, int, int]
"""(negatives_per_positive, min_negatives, seed)."""


def negatives_kept(positives: float, negatives: float, ratio: float | None, min_negatives: int) -> float:
    """How many of a team's negatives its problem keeps: the rule `sampled_rows` draws by and a
    progress bar plans by (export.pipeline.fitted_rows)."""
    if ratio is None:
        return negatives
    return min(negatives, max(min_negatives, ratio * positives))


def sampled_rows(positive: np.ndarray, k: int, sampling: Sampling) -> tuple[np.ndarray | None, float]:
    """Team k's rows and a seeded share of the others' (None: every row), and the weight the kept
    negatives carry so that they stand for all of them."""
    ratio, min_negatives, seed = sampling
    positives = int(positive.sum())
    negatives = len(positive) - positives
    wanted = round(negatives_kept(positives, negatives, ratio, min_negatives))
    if wanted >= negatives:
        return None, 1.0
    others = np.flatnonzero(~positive)
    drawn = np.random.default_rng([seed, k]).choice(others, size=wanted, replace=False)
    return np.sort(np.concatenate([np.flatnonzero(positive), drawn])), negatives / wanted


def _linear_svc(C: float, tol: float, seed: int, class_weight: Any) -> LinearSVC:
    return LinearSVC(C=C, class_weight=class_weight, tol=tol, random_state=seed)


def _fit_team(
    X: Any,
    positive: np.ndarray,
    weights: np.ndarray,
    team_weight: float,
    k: int,
    sampling: Sampling,
    solver: tuple[float, float],
) -> tuple[np.ndarray, float, int, int]:
    """Team k against the rest (in a worker process): its rows at C x its balanced weight, the
    others' at C."""
    rows, scale = sampled_rows(positive, k, sampling)
    target = positive.astype(np.int8)
    fit_weights = weights.copy()
    fit_weights[~positive] *= scale
    if rows is not None:
        X, target, fit_weights = X[rows], target[rows], fit_weights[rows]
    model = _linear_svc(*solver, sampling[2], {1: team_weight, 0: 1.0})
    model.fit(X, target, sample_weight=fit_weights)
    return model.coef_[0], float(model.intercept_[0]), int(model.n_iter_), X.shape[0]
