"""Reading Jira's own CSV exports as real sites write them (fixtures/README.md names each shape's source)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from export.errors import UserError
from export.jira_csv import read_jira_csv, team_spellings
from export.tickets import Ticket

FIXTURES = Path(__file__).parent / "fixtures"
CLOUD = FIXTURES / "jira-cloud-export.csv"
APACHE = FIXTURES / "apache-export.csv"


def export_file(tmp_path: Path, header: list[str], rows: list[list[str]]) -> Path:
    path = tmp_path / "Jira.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([header, *rows])
    return path


def test_cloud_export_components_take_the_first_non_empty_of_repeated_columns() -> None:
    export = read_jira_csv(CLOUD, "components")

    assert [(t.key, t.team, t.created) for t in export.tickets] == [
        ("PAY-101", "Ledger", "2024-06-05T13:20:00"),
        ("SRCH-7", "Indexer", "2024-06-05T09:05:00"),
        ("PAY-102", "Invoicing", "2024-06-07T16:45:00"),
        ("SRCH-8", "Relevance", "2024-06-10T11:30:00"),
    ]
    assert export.tickets[0].description == (
        "The provider keeps retrying the refund webhook.\r\n\r\nSeen after the 2024.3 release."
    )
    assert export.skipped == {"no team": 1}
    assert export.examples == {"no team": ["PLAT-12"]}
    assert export.notes == []  # no numeric dates, nothing to decide


@pytest.mark.parametrize("team_field", ["Custom field (Team)", "Team", "team"])
def test_team_custom_field_is_found_by_either_name(team_field: str) -> None:
    export = read_jira_csv(CLOUD, team_field)

    assert [t.team for t in export.tickets] == ["Payments", "Search", "Platform", "Payments"]
    assert export.skipped == {"no team": 1}


def test_apache_export_component_s_24_hour_dates_and_no_description() -> None:
    export = read_jira_csv(APACHE, "components")

    assert export.tickets == [
        Ticket("LEDGER-31", "Nightly balance job stuck at ACCEPTED", "", "scheduler", "2021-10-22T16:55:00"),
        Ticket("LEDGER-32", "Balance export writes an empty file", "", "export", "2021-10-23T09:03:00"),
        Ticket(
            "GATEWAY-4", "Gateway should log the upstream status code", "", "gateway", "2021-11-02T23:59:00"
        ),
    ]
    assert export.skipped == {"no team": 1}


def test_plain_team_column_and_day_first_resave_with_bad_dates_counted() -> None:
    export = read_jira_csv(FIXTURES / "resaved-day-first.csv", "custom field (team)")

    assert [(t.key, t.created) for t in export.tickets] == [
        ("OPS-1", "2024-09-06T13:55:00"),
        ("OPS-2", "2024-09-13T09:10:00"),
        ("WEB-1", "2024-10-02T08:00:00"),
        ("OPS-3", "2024-11-01T07:30:00"),
    ]
    assert export.skipped == {"bad date": 2}
    assert export.examples == {"bad date": ["WEB-2 '31-02-2024 10:00'", "WEB-3 'last Tuesday'"]}
    assert export.notes == [
        "Created: numeric dates read day-first (dd/mm/yyyy): the column has 1 like '13-09-2024 09:10' "
        "whose first number is above 12"
    ]


def test_month_first_resave_with_component_s() -> None:
    export = read_jira_csv(FIXTURES / "resaved-month-first.csv", "components")

    assert [t.created for t in export.tickets] == [
        "2024-09-06T13:55:00",
        "2024-12-25T10:00:00",
        "2025-01-02T08:05:00",
        "2025-02-03T12:30:00",
    ]
    assert "month-first" in export.notes[0]


def test_iso_dates_with_and_without_zone() -> None:
    export = read_jira_csv(FIXTURES / "iso-dates.csv", "project")

    assert [t.created for t in export.tickets] == [
        "2024-09-06T13:55:00",
        "2024-09-06T13:55:00+00:00",
        "2024-09-06T13:55:00+00:00",
        "2024-09-06T13:55:00+00:00",
    ]
    assert [t.team for t in export.tickets] == ["DATA", "DATA", "MOB", "MOB"]


def test_the_first_few_bad_dates_are_named(tmp_path: Path) -> None:
    rows = [[f"A-{n}", "text", "T", "soon"] for n in range(5)] + [["A-9", "text", "T", "2024-01-01"]]
    path = export_file(tmp_path, ["Issue key", "Summary", "Team", "Created"], rows)

    export = read_jira_csv(path, "Team")

    assert [t.key for t in export.tickets] == ["A-9"]
    assert export.skipped == {"bad date": 5}
    assert export.examples["bad date"] == ["A-0 'soon'", "A-1 'soon'", "A-2 'soon'"]


def test_headers_match_whatever_their_case_and_spaces(tmp_path: Path) -> None:
    path = export_file(tmp_path, [" issue KEY ", "SUMMARY", "component/s"], [["A-1", "Login loops", "Auth"]])

    assert read_jira_csv(path, "Components").tickets == [Ticket("A-1", "Login loops", "", "Auth", "")]


@pytest.mark.parametrize(
    ("team_field", "spellings"),
    [
        ("components", ("Components", "Component/s")),
        ("Component/s", ("Component/s", "Components")),
        ("project", ("Project key",)),
        ("Team", ("Team", "Custom field (Team)")),
        ("Custom field (Team)", ("Custom field (Team)", "Team")),
    ],
)
def test_team_field_spellings(team_field: str, spellings: tuple[str, ...]) -> None:
    assert team_spellings(team_field) == spellings


def test_a_misspelt_team_column_lists_close_matches_and_custom_fields() -> None:
    with pytest.raises(UserError) as raised:
        read_jira_csv(CLOUD, "Custom field (Teams)")

    message = str(raised.value)
    assert (
        "has no column 'Custom field (Teams)' or 'Teams' for --team-field 'Custom field (Teams)'" in message
    )
    assert "columns that could be meant: Custom field (Team), Custom field (Story Points)" in message
    assert "\n" not in message


def test_an_api_field_id_is_explained(tmp_path: Path) -> None:
    with pytest.raises(UserError) as raised:
        read_jira_csv(CLOUD, "customfield_10010")

    message = str(raised.value)
    assert "customfield_10010 is an API field id" in message
    assert "Custom field (Story Points)" in message and "Custom field (Team)" in message


def test_a_file_that_is_not_a_jira_export_lists_what_could_be_meant(tmp_path: Path) -> None:
    path = export_file(tmp_path, ["key", "summary", "team"], [["A-1", "x", "T"]])

    with pytest.raises(UserError) as raised:
        read_jira_csv(path, "project")

    message = str(raised.value)
    assert "has no column 'Issue key' for the issue key" in message
    assert "could be meant: key" in message and "Export → CSV" in message


def test_missing_description_and_created_are_fine(tmp_path: Path) -> None:
    path = export_file(tmp_path, ["Issue key", "Summary", "Project key"], [["A-1", "Login loops", "AUTH"]])

    export = read_jira_csv(path, "project")

    assert export.tickets == [Ticket("A-1", "Login loops", "", "AUTH", "")]


def test_non_utf8_export_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "Jira.csv"
    path.write_bytes(b"Issue key,Summary\nA-1,R\xe9sum\xe9\n")

    with pytest.raises(UserError, match="not UTF-8"):
        read_jira_csv(path, "project")
