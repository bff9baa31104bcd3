"""A question's words as the model knows them: lower-case identifiers rejoined with their parts,
run-together words split into known ones, everything else untouched."""

from __future__ import annotations

from collections import Counter

from chalicelib.model.expand import COMPOUNDS_KEY, WORDS_KEY, QuestionExpander, expander_metadata
from chalicelib.text import normalize

WORDS = "hive server2 hiveserver2 sessions name node metrics test jdbc drops 2 fs namesystem"
VOCABULARY = {term: i for i, term in enumerate([*WORDS.split(), "hive server2", "server2 hiveserver2"])}


def expander(identifiers: Counter[str] | None = None) -> QuestionExpander:
    data = expander_metadata(VOCABULARY, identifiers or Counter({"HiveServer2": 5, "FSNamesystem": 1}))
    built = QuestionExpander.from_metadata(data)
    assert built is not None
    return built


def test_the_metadata_lists_single_words_and_common_identifiers_only() -> None:
    data = expander_metadata(VOCABULARY, Counter({"HiveServer2": 3, "FSNamesystem": 2, "NameNode": 9}))
    assert "hive server2" not in data[WORDS_KEY].split("\n") and "hiveserver2" in data[WORDS_KEY].split("\n")
    # FSNamesystem is too rare; NameNode's joined form "namenode" is no word of the model
    assert data[COMPOUNDS_KEY].split("\n") == ["hive server2"]


def test_a_lower_case_identifier_brings_its_parts() -> None:
    assert expander()(normalize("who knows why hiveserver2 drops sessions")) == (
        "why hive server2 hiveserver2 drops sessions"
    )


def test_a_run_together_unknown_word_is_split_into_known_words() -> None:
    assert expander()("testnamenodemetrics drops") == "test name node metrics drops"
    assert expander()("jdbc2") == "jdbc 2"


def test_known_words_and_unsplittable_ones_are_left_alone() -> None:
    assert expander()("jdbc sessions drops") == "jdbc sessions drops"
    assert expander()("zzqx abc") == "zzqx abc"  # nothing known to split into; too short
    assert expander()("") == ""


def test_a_model_without_the_data_has_no_expander() -> None:
    assert QuestionExpander.from_metadata({"whoknows.labels": "[]"}) is None
