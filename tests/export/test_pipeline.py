"""The vocabulary budget: the most frequent terms, every kept word pair's words with it."""

from __future__ import annotations

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
