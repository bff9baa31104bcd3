"""The embedded synthetic sample: shaped like a real export, reproducible, and matched by teams.json."""

from __future__ import annotations

import csv
import re
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from chalicelib.model.teams import TeamDirectory
from export.sample import SAMPLE_TEAMS, SAMPLE_TICKETS
from export.sample.generate import main
from export.tickets import read_tickets


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    with SAMPLE_TICKETS.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == ["key", "summary", "description", "team", "created", "url"]
        return list(reader)


def test_sample_has_enough_rows_per_team(rows: list[dict[str, str]]) -> None:
    teams = Counter(row["team"] for row in rows)

    assert len(rows) >= 300
    assert len(teams) == 6
    assert min(teams.values()) >= 40


def test_keys_are_unique_and_jira_shaped(rows: list[dict[str, str]]) -> None:
    keys = [row["key"] for row in rows]

    assert len(set(keys)) == len(keys)
    assert all(re.fullmatch(r"[A-Z]+-\d+", key) for key in keys)


def test_created_timestamps_parse_and_span_about_two_years(rows: list[dict[str, str]]) -> None:
    created = [datetime.strptime(row["created"], "%Y-%m-%dT%H:%M:%S.%f%z") for row in rows]

    assert (max(created) - min(created)).days > 600


def test_text_looks_like_real_tickets(rows: list[dict[str, str]]) -> None:
    descriptions = [row["description"] for row in rows]
    text = "".join(row["summary"] + row["description"] for row in rows)

    assert any("{code" in d for d in descriptions)
    assert any(re.search(r"\[[^|\]]+\|https://", d) for d in descriptions)
    assert any(d.startswith("h3. ") for d in descriptions)
    assert any(re.search(r"\*[^*\n]+\*", d) for d in descriptions)
    assert any(not ch.isascii() for ch in text)
    assert 1 <= descriptions.count("") <= 3
    assert all(row["summary"].strip() for row in rows)


def test_project_reader_accepts_every_row() -> None:
    assert len(read_tickets(SAMPLE_TICKETS)) == 360


def test_committed_csv_matches_the_generator(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--check"]) == 0


def test_check_fails_when_the_csv_differs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stale = tmp_path / "tickets.csv"
    stale.write_bytes(SAMPLE_TICKETS.read_bytes().replace(b"PAY-101,", b"PAY-100,", 1))

    assert main(["--check", "--output", str(stale)]) == 1
    assert "differs from the generator" in capsys.readouterr().out
    assert main(["--output", str(stale)]) == 0
    assert stale.read_bytes() == SAMPLE_TICKETS.read_bytes()


def test_every_sample_team_has_a_directory_entry(rows: list[dict[str, str]]) -> None:
    directory = TeamDirectory.load(SAMPLE_TEAMS)

    assert directory.problems({row["team"] for row in rows}) == []
    assert all(directory.lookup(row["team"]).channel for row in rows)
