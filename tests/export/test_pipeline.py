"""The vocabulary budget: the most frequent terms, every kept word pair's words with it."""

from __future__ import annotations

import pickle

import numpy as np

from export.pipeline import (
    SMALL_FIT_ROWS,
    ModelParams,
    choose_vocabulary,
    jobs_for,
    terms_for_budget,
    training_rows,
)

TEXTS = [
    "kafka broker restart",
    "kafka broker lag",
    "kafka consumer lag",
    "hive query slow",
    "hive query plan",
    "kafka broker crash",
]


def rows(max_terms: int | None) -> dict[str, int]:
    teams = ["STREAM", "STREAM", "STREAM", "SQL", "SQL", "STREAM"]
    params = ModelParams(min_df=1, max_terms=max_terms)
    return choose_vocabulary(params, training_rows(TEXTS, [""] * 6, [""] * 6, teams, params))


def test_without_a_cap_every_term_is_kept() -> None:
    vocabulary = rows(None)
    assert "broker crash" in vocabulary and "plan" in vocabulary
    assert sorted(vocabulary.values()) == list(range(len(vocabulary)))


def test_a_cap_keeps_the_most_frequent_terms_and_the_words_of_every_kept_pair() -> None:
    vocabulary = rows(5)
    # kafka 4, broker 3, kafka broker 3, hive 2, query 2, hive query 2, lag 2: words win ties.
    assert set(vocabulary) == {"kafka", "broker", "kafka broker", "hive", "lag"}
    assert sorted(vocabulary.values()) == list(range(5))
    for term in vocabulary:
        assert all(word in vocabulary for word in term.split(" "))


def test_the_budget_buys_fewer_terms_for_more_teams() -> None:
    assert terms_for_budget(30_000_000, 8) > 5 * terms_for_budget(30_000_000, 100)
    assert terms_for_budget(30_000_000, 100) > 1.8 * terms_for_budget(30_000_000, 100, half_precision=False)
    assert terms_for_budget(30_000_000, 2) > terms_for_budget(30_000_000, 3)  # two teams: one column
    assert terms_for_budget(10, 100) == 1


def test_a_small_fit_runs_in_one_process_and_a_large_one_in_parallel() -> None:
    params = ModelParams(n_jobs=2)
    small = training_rows(TEXTS, [""] * 6, [""] * 6, ["A"] * 6, params)
    large = training_rows(
        ["kafka lag"] * SMALL_FIT_ROWS,
        [""] * SMALL_FIT_ROWS,
        [""] * SMALL_FIT_ROWS,
        ["A"] * SMALL_FIT_ROWS,
        params,
    )
    assert jobs_for(params, small) == 1
    assert jobs_for(params, large) == 2


def test_a_fit_from_shared_counts_ships_the_vectorizer_tfidf_would_have_fitted_and_pickles() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    from export.dataset import load_dataset
    from export.pipeline import TermCounts, fit_pipeline
    from export.sample import SAMPLE_TICKETS

    data = load_dataset(SAMPLE_TICKETS, 5, False)
    params = ModelParams(min_df=2, max_terms=400, calibration_folds=2, n_jobs=1)
    older = list(range(len(data) // 2))
    rows = training_rows(
        [data.texts[i] for i in older],
        [data.summaries[i] for i in older],
        [data.lower_summaries[i] for i in older],
        [data.teams[i] for i in older],
        params,
    )
    everything = training_rows(data.texts, data.summaries, data.lower_summaries, data.teams, params)
    shared = TermCounts(everything.texts)  # counted over more rows than this fit reads
    heard: list[int] = []
    pipeline = fit_pipeline(params, rows, lambda fitted: heard.append(fitted), counts=shared)
    assert sum(heard) > len(rows.texts)  # every team's problem reported its rows
    pickle.loads(pickle.dumps(pipeline))  # the callback stayed with the run, not the model

    shipped = pipeline.named_steps["tfidf"]
    reference = TfidfVectorizer(
        vocabulary=choose_vocabulary(params, rows),
        lowercase=False,
        token_pattern=r"\S+",
        ngram_range=(1, 2),
        binary=True,
        dtype=np.float32,
    )
    expected = reference.fit_transform(rows.texts)
    assert shipped.vocabulary_ == reference.vocabulary_ and len(shipped.vocabulary_) == 400
    np.testing.assert_array_equal(shipped.idf_, reference.idf_)
    assert (shipped.transform(rows.texts) != expected).nnz == 0
    np.testing.assert_array_equal(
        pipeline.predict_proba(rows.texts), pipeline.named_steps["classifier"].predict_proba(expected)
    )
