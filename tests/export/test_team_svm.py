"""TeamLinearSVC: LinearSVC's one-vs-rest model fitted a team per thread, on real Jira tickets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC

from chalicelib.text import ticket_text
from export.team_svm import TeamLinearSVC, sampled_rows
from export.tickets import read_tickets

TICKETS = 4000


@pytest.fixture(scope="module")
def tickets(real_data: Path) -> dict[str, np.ndarray]:
    """Every 7th of the first 28,000 real tickets (all eight projects), vectorised as training does;
    the last fifth held out."""
    rows = read_tickets(real_data)[: TICKETS * 7 : 7]
    texts = [ticket_text(row.summary, row.description) for row in rows]
    teams = np.array([row.team for row in rows])
    cut = round(len(rows) * 0.8)
    vectorizer = TfidfVectorizer(lowercase=False, token_pattern=r"\S+", binary=True, min_df=2)
    train = vectorizer.fit_transform(texts[:cut])
    weights = np.where(np.arange(cut) % 3 == 0, 0.5, 1.0)  # as training weighs its typed rows
    return {
        "X": train,
        "y": teams[:cut],
        "w": weights,
        "test": vectorizer.transform(texts[cut:]),
        "truth": teams[cut:],
    }


def test_without_sampling_it_is_linearsvc_one_vs_rest(tickets: dict[str, np.ndarray]) -> None:
    ours = TeamLinearSVC(C=0.3, n_jobs=2).fit(tickets["X"], tickets["y"], tickets["w"])
    theirs = LinearSVC(C=0.3, class_weight="balanced").fit(
        tickets["X"], tickets["y"], sample_weight=tickets["w"]
    )
    assert len(set(tickets["y"])) == 8 and list(ours.classes_) == list(theirs.classes_)
    assert ours.coef_.shape == theirs.coef_.shape
    assert ours.coef_.flags.f_contiguous and theirs.coef_.flags.f_contiguous  # X @ coef_.T without a copy
    # The same optimisation problems, solved to liblinear's tolerance.
    assert np.abs(ours.coef_ - theirs.coef_).max() < 0.02 * np.abs(theirs.coef_).max()
    assert np.mean(ours.predict(tickets["test"]) == theirs.predict(tickets["test"])) > 0.995


def test_two_teams_give_linearsvcs_single_column(tickets: dict[str, np.ndarray]) -> None:
    two = np.isin(tickets["y"], ["HDFS", "HIVE"])
    X, y, w = tickets["X"][two], tickets["y"][two], tickets["w"][two]
    ours = TeamLinearSVC(C=0.3).fit(X, y, w)
    theirs = LinearSVC(C=0.3, class_weight="balanced", random_state=0).fit(X, y, sample_weight=w)
    assert ours.coef_.shape == (1, X.shape[1])
    np.testing.assert_allclose(ours.coef_, theirs.coef_)
    np.testing.assert_allclose(ours.intercept_, theirs.intercept_)


def test_worker_processes_do_not_change_the_model(tickets: dict[str, np.ndarray]) -> None:
    one = TeamLinearSVC(C=0.3, negatives_per_positive=2, min_negatives=0, n_jobs=1)
    two = clone(one).set_params(n_jobs=2)
    one.fit(tickets["X"], tickets["y"], tickets["w"])
    two.fit(tickets["X"], tickets["y"], tickets["w"])
    np.testing.assert_array_equal(one.coef_, two.coef_)
    np.testing.assert_array_equal(one.intercept_, two.intercept_)


def test_a_sample_keeps_every_positive_and_weighs_the_negatives_up() -> None:
    sampling = (3, 100, 0)  # negatives per positive, at least, seed
    positive = np.zeros(10_000, dtype=bool)
    positive[::50] = True  # 200 positives, 9,800 negatives: 600 wanted
    rows, scale = sampled_rows(positive, 4, sampling)
    assert rows is not None and positive[rows].sum() == 200
    assert len(rows) - 200 == 600
    assert scale == pytest.approx(9_800 / 600)
    again, _ = sampled_rows(positive, 4, sampling)
    other, _ = sampled_rows(positive, 5, sampling)
    np.testing.assert_array_equal(rows, again)  # seeded per team
    assert not np.array_equal(rows, other)


def test_a_team_with_few_negatives_keeps_them_all() -> None:
    positive = np.zeros(1_000, dtype=bool)
    positive[:400] = True
    assert sampled_rows(positive, 0, (3, 20_000, 0)) == (None, 1.0)
    assert sampled_rows(positive, 0, (0.1, 600, 0)) == (None, 1.0)
    assert sampled_rows(positive, 0, (None, 20_000, 0)) == (None, 1.0)  # no sampling asked for


def test_a_sampled_fit_ranks_about_as_well_as_the_full_one(tickets: dict[str, np.ndarray]) -> None:
    full = TeamLinearSVC(C=0.3, n_jobs=2).fit(tickets["X"], tickets["y"], tickets["w"])
    sampled = TeamLinearSVC(C=0.3, negatives_per_positive=2, min_negatives=0, n_jobs=2)
    sampled.fit(tickets["X"], tickets["y"], tickets["w"])
    assert not np.allclose(sampled.coef_, full.coef_)  # the sample did change the fit
    full_top1 = np.mean(full.predict(tickets["test"]) == tickets["truth"])
    sampled_top1 = np.mean(sampled.predict(tickets["test"]) == tickets["truth"])
    assert full_top1 > 0.7
    assert sampled_top1 > full_top1 - 0.03


def test_calibration_clones_and_fits_it_with_weights(tickets: dict[str, np.ndarray]) -> None:
    svm = TeamLinearSVC(C=0.3, negatives_per_positive=10, n_jobs=2)
    assert clone(svm).get_params() == svm.get_params()
    calibrated = CalibratedClassifierCV(svm, method="sigmoid", cv=2, ensemble=False)
    calibrated.fit(tickets["X"], tickets["y"], sample_weight=tickets["w"])
    probabilities = calibrated.predict_proba(tickets["test"])
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    assert np.mean(calibrated.classes_[probabilities.argmax(axis=1)] == tickets["truth"]) > 0.7


def test_one_team_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least two teams"):
        TeamLinearSVC().fit(np.eye(3), ["A", "A", "A"])


def test_progress_hears_each_team_and_adds_up_to_the_planned_rows(tickets: dict[str, np.ndarray]) -> None:
    from collections import Counter

    from export.pipeline import ModelParams, fitted_rows

    heard: list[int] = []

    def progress(rows: int) -> None:
        heard.append(rows)

    svm = TeamLinearSVC(C=0.3, negatives_per_positive=2, min_negatives=100, n_jobs=2, progress=progress)
    CalibratedClassifierCV(svm, method="sigmoid", cv=2, ensemble=False).fit(
        tickets["X"], tickets["y"], sample_weight=tickets["w"]
    )
    assert len(heard) == 8 * 3  # eight teams, in two folds and the final fit
    params = ModelParams(negatives_per_positive=2, min_negatives=100, calibration_folds=2)
    planned = fitted_rows(params, Counter(tickets["y"].tolist()))
    assert sum(heard) == pytest.approx(planned, rel=1e-3)
    every_row = 8 * 2 * len(tickets["y"])  # each team over every row: two half folds and the final fit
    assert sum(heard) < every_row / 2  # the sample cut them
