"""Reading Jira's own CSV export, with its repeated columns and locale-style dates."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from export.errors import UserError
from export.jira_csv import read_jira_csv
from export.tickets import Ticket

HEADER = [
    "Summary",
    "Issue key",
    "Issue id",
    "Project key",
    "Component/s",
    "Component/s",
    "Description",
    "Created",
    "Custom field (Team)",
    "Custom field (Story Points)",
]
ROWS = [
    [
        "Refund stuck",
        "PAY-1",
        "101",
        "PAY",
        "",
        "Ledger",
        "Customer paid twice\r\nsee logs",
        "05/Jun/24 1:20 PM",
        "Payments",
        "3",
    ],
    ["Stale index", "SRCH-2", "102", "SRCH", "Indexer", "Query", "", "06/Jun/24 9:05 AM", "Search", ""],
    ["No component", "PLAT-3", "103", "PLAT", "", "", "Deploys flaky", "07/Jun/24 10:00 AM", "", ""],
    ["", "PLAT-4", "104", "PLAT", "Deploy", "", "", "08/Jun/24 10:00 AM", "Platform", ""],
]


def export_file(tmp_path: Path, header: list[str] = HEADER, rows: list[list[str]] = ROWS) -> Path:
    path = tmp_path / "Jira.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([header, *rows])
    return path


def test_components_take_the_first_non_empty_of_repeated_columns(tmp_path: Path) -> None:
    tickets, skipped = read_jira_csv(export_file(tmp_path), "components")

    assert tickets == [
        Ticket("PAY-1", "Refund stuck", "Customer paid twice\r\nsee logs", "Ledger", "2024-06-05T13:20:00"),
        Ticket("SRCH-2", "Stale index", "", "Indexer", "2024-06-06T09:05:00"),
    ]
    assert skipped == {"no team": 1, "empty text": 1}


@pytest.mark.parametrize(
    ("team_field", "teams"),
    [("project", ["PAY", "SRCH", "PLAT"]), ("Custom field (Team)", ["Payments", "Search"])],
)
def test_team_from_project_or_a_named_column(tmp_path: Path, team_field: str, teams: list[str]) -> None:
    tickets, _ = read_jira_csv(export_file(tmp_path), team_field)

    assert [ticket.team for ticket in tickets] == teams


def test_iso_dates_pass_and_missing_created_stays_empty(tmp_path: Path) -> None:
    rows = [[*ROWS[0][:7], "2024-06-05 13:20", *ROWS[0][8:]], [*ROWS[1][:7], "", *ROWS[1][8:]]]

    tickets, _ = read_jira_csv(export_file(tmp_path, rows=rows), "project")

    assert [ticket.created for ticket in tickets] == ["2024-06-05T13:20:00", ""]


def test_unknown_team_column_lists_the_custom_fields(tmp_path: Path) -> None:
    with pytest.raises(UserError) as raised:
        read_jira_csv(export_file(tmp_path), "customfield_10010")

    message = str(raised.value)
    assert "no column(s) 'customfield_10010'" in message
    assert "Custom field (Team), Custom field (Story Points)" in message


def test_a_file_that_is_not_a_jira_export_is_named_as_such(tmp_path: Path) -> None:
    path = export_file(tmp_path, header=["key", "summary", "team"], rows=[["A-1", "x", "T"]])

    with pytest.raises(UserError, match=r"no column.*'Summary', 'Description', 'Project key'.*Export → CSV"):
        read_jira_csv(path, "project")


def test_an_unreadable_created_date_stops_with_the_value(tmp_path: Path) -> None:
    rows = [[*ROWS[0][:7], "Juni 5th", *ROWS[0][8:]]]

    with pytest.raises(UserError, match="cannot read Created 'Juni 5th' of PAY-1"):
        read_jira_csv(export_file(tmp_path, rows=rows), "project")


def test_non_utf8_export_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "Jira.csv"
    path.write_bytes(",".join(HEADER).encode() + "\nR\xe9sum\xe9\n".encode("latin-1"))

    with pytest.raises(UserError, match="not UTF-8"):
        read_jira_csv(path, "project")
