"""A second real model for the export tests: trained through the CLI from summaries alone, with long
team names, as a Jira export without descriptions and with spelt-out team fields would give."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from export.__main__ import main
from export.sample import SAMPLE_TICKETS

LONG_NAMES = {
    "PAYMENTS": "Payments & Billing Engineering",
    "PLATFORM": "Platform Infrastructure and Reliability",
    "MOBILE": "Mobile",
}


@pytest.fixture(scope="session")
def summary_only_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The training folder of `train` run on the sample reshaped: key, summary, team, created only."""
    folder = tmp_path_factory.mktemp("summary-only")
    summaries = folder / "summaries.csv"
    with (
        SAMPLE_TICKETS.open(newline="", encoding="utf-8") as source,
        summaries.open("w", newline="") as target,
    ):
        writer = csv.writer(target)
        writer.writerow(["key", "summary", "team", "created"])
        for row in csv.DictReader(source):
            writer.writerow(
                [row["key"], row["summary"], LONG_NAMES.get(row["team"], row["team"]), row["created"]]
            )
    out = folder / "model"
    assert main(["train", str(summaries), "--out", str(out), "--min-tickets-per-team", "5", "--quiet"]) == 0
    return out
