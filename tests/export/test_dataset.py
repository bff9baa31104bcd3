"""export.dataset on small tickets CSVs: the split holds out the newest tickets whatever the file
order, teams too small (or only in the newest slice) are dropped or refused by name, texts are
normalised with summaries kept apart, and unusable rows are counted."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from chalicelib.text import normalize, ticket_text
from export.dataset import load_dataset
from export.errors import UserError
from export.tickets import Ticket, write_tickets

Row = tuple[str, str, str, str, str]  # key, summary, description, team, created


def write_csv(
    path: Path,
    rows: list[Row],
    header: tuple[str, ...] = ("key", "summary", "description", "team", "created"),
) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow(row[: len(header)])
    return path


def day(n: int) -> str:
    """A Jira-style timestamp n days into March 2024."""
    return f"2024-03-{n:02d}T09:30:00.000+0000"


def test_the_newest_tickets_are_held_out_whatever_the_file_order(tmp_path: Path) -> None:
    rows: list[Row] = [
        ("PAY-4", "refund four", "", "PAYMENTS", day(20)),
        ("DAT-1", "etl one", "", "DATA", day(1)),
        ("PAY-1", "refund one", "", "PAYMENTS", day(2)),
        ("DAT-4", "etl four", "", "DATA", day(19)),
        ("DAT-2", "etl two", "", "DATA", day(5)),
        ("PAY-2", "refund two", "", "PAYMENTS", day(6)),
        ("PAY-3", "refund three", "", "PAYMENTS", day(10)),
        ("DAT-3", "etl three", "", "DATA", day(11)),
    ]
    data = load_dataset(write_csv(tmp_path / "t.csv", rows), min_tickets_per_team=1, progress=False)
    assert data.time_ordered is True
    train, test = data.split(0.25)
    assert [data.summaries[i] for i in test] == ["etl four", "refund four"]
    assert [data.summaries[i] for i in train] == [
        "etl one",
        "refund one",
        "etl two",
        "refund two",
        "refund three",
        "etl three",
    ]


def test_the_split_reads_timestamps_not_their_text(tmp_path: Path) -> None:
    """Milliseconds, 'Z' and '+0000' mix in one file; tickets sort by the instant, where sorting the
    text would put 10:00:00.500 before 10:00:00Z."""
    rows: list[Row] = [
        ("A-3", "alpha late", "", "A", "2024-03-01T10:00:00.500+0000"),
        ("A-1", "alpha early", "", "A", "2024-03-01T09:59:59.000+0000"),
        ("B-2", "beta middle", "", "B", "2024-03-01T10:00:00Z"),
        ("B-1", "beta early", "", "B", "2024-02-28T23:00:00+00:00"),
    ]
    data = load_dataset(write_csv(tmp_path / "t.csv", rows), min_tickets_per_team=1, progress=False)
    train, test = data.split(0.25)
    assert [data.summaries[i] for i in test] == ["alpha late"]
    assert [data.summaries[i] for i in train] == ["beta early", "alpha early", "beta middle"]


@pytest.mark.parametrize("created", ["last Tuesday", ""], ids=["unreadable", "empty"])
def test_an_unreadable_or_empty_date_in_a_dated_file_is_skipped_and_named(
    tmp_path: Path, created: str
) -> None:
    rows: list[Row] = [
        ("A-1", "alpha dated", "", "A", day(1)),
        ("B-1", "beta undated", "", "B", created),
        ("A-2", "alpha newer", "", "A", day(2)),
        ("B-2", "beta newest", "", "B", day(3)),
        ("B-3", "beta older", "", "B", day(1)),
    ]
    data = load_dataset(write_csv(tmp_path / "t.csv", rows), min_tickets_per_team=1, progress=False)
    assert data.time_ordered is True and data.skipped_rows == 1
    assert "beta undated" not in data.summaries and "B-1" in data.notes[-1]
    _train, test = data.split(0.25)
    assert [data.summaries[i] for i in test] == ["beta newest"]


def test_tickets_in_different_utc_offsets_sort_by_their_instant(tmp_path: Path) -> None:
    rows: list[Row] = [
        ("A-1", "alpha earlier", "", "A", "2024-03-01T10:00:00.000+0500"),  # 05:00 UTC
        ("B-1", "beta later", "", "B", "2024-03-01T06:00:00.000+0000"),  # 06:00 UTC
        ("A-2", "alpha first", "", "A", "2024-02-01T00:00:00.000+0000"),
        ("B-2", "beta first", "", "B", "2024-02-01T00:00:00.000+0000"),
    ]
    data = load_dataset(write_csv(tmp_path / "t.csv", rows), min_tickets_per_team=1, progress=False)
    _, test = data.split(0.25)
    assert [data.summaries[i] for i in test] == ["beta later"]


def test_tickets_created_at_the_same_moment_keep_file_order(tmp_path: Path) -> None:
    rows: list[Row] = [(f"K-{i}", f"ticket {i}", "", "AB"[i % 2], day(3)) for i in range(6)]
    data = load_dataset(write_csv(tmp_path / "t.csv", rows), min_tickets_per_team=1, progress=False)
    train, test = data.split(0.5)
    assert (train, test) == ([0, 1, 2], [3, 4, 5])


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.2, 1.5])
def test_a_test_fraction_outside_zero_and_one_is_refused(tmp_path: Path, fraction: float) -> None:
    rows: list[Row] = [(f"K-{i}", f"ticket {i}", "", "AB"[i % 2], day(i + 1)) for i in range(6)]
    data = load_dataset(write_csv(tmp_path / "t.csv", rows), min_tickets_per_team=1, progress=False)
    with pytest.raises(UserError, match=f"--test-fraction must be between 0 and 1, got {fraction}"):
        data.split(fraction)


def test_a_team_seen_only_in_the_newest_slice_is_named(tmp_path: Path) -> None:
    rows: list[Row] = [
        *[(f"PAY-{i}", f"refund {i}", "", "PAYMENTS", day(i + 1)) for i in range(4)],
        *[(f"DAT-{i}", f"etl {i}", "", "DATA", day(i + 5)) for i in range(4)],
        ("SRC-1", "index rebuild", "", "SEARCH", day(20)),
        ("SRC-2", "index mapping", "", "SEARCH", day(21)),
    ]
    data = load_dataset(write_csv(tmp_path / "t.csv", rows), min_tickets_per_team=1, progress=False)
    with pytest.raises(UserError, match=r"teams SEARCH have tickets only in the newest 20%"):
        data.split(0.2)
    train, test = data.split(0.1)  # SEARCH keeps its older ticket for training
    assert [data.teams[i] for i in test] == ["SEARCH"]
    assert "SEARCH" in {data.teams[i] for i in train}


def test_small_teams_are_dropped_and_reported(tmp_path: Path) -> None:
    rows: list[Row] = [
        *[(f"PAY-{i}", f"refund {i}", "", "PAYMENTS", day(i + 1)) for i in range(3)],
        *[(f"DAT-{i}", f"etl {i}", "", "DATA", day(i + 4)) for i in range(3)],
        ("MOB-1", "app crash", "", "MOBILE", day(10)),
        ("MOB-2", "app login", "", "MOBILE", day(11)),
        ("SRC-1", "index rebuild", "", "SEARCH", day(12)),
    ]
    data = load_dataset(write_csv(tmp_path / "t.csv", rows), min_tickets_per_team=3, progress=False)
    assert data.dropped_teams == {"MOBILE": 2, "SEARCH": 1}
    assert sorted(set(data.teams)) == ["DATA", "PAYMENTS"]
    assert len(data) == 6
    assert len(data.texts) == len(data.summaries) == len(data.created) == 6
    assert "app crash" not in data.summaries


def test_fewer_than_two_teams_left_is_refused_with_the_counts(tmp_path: Path) -> None:
    rows: list[Row] = [
        *[(f"PAY-{i}", f"refund {i}", "", "PAYMENTS", day(i + 1)) for i in range(5)],
        *[(f"DAT-{i}", f"etl {i}", "", "DATA", day(i + 6)) for i in range(2)],
        ("SRC-1", "index rebuild", "", "SEARCH", day(12)),
    ]
    path = write_csv(tmp_path / "t.csv", rows)
    with pytest.raises(UserError) as raised:
        load_dataset(path, min_tickets_per_team=3, progress=False)
    message = str(raised.value)
    assert "need at least 2 teams with >= 3 tickets each" in message
    assert "found PAYMENTS (5), DATA (2), SEARCH (1)" in message
    assert str(path) in message


def test_without_a_created_column_file_order_stands_in_for_time(tmp_path: Path) -> None:
    rows: list[Row] = [
        ("K-1", "zeta oldest by file", "", "A", ""),
        ("K-2", "alpha", "", "B", ""),
        ("K-3", "mid", "", "A", ""),
        ("K-4", "newest by file", "", "B", ""),
    ]
    path = write_csv(tmp_path / "t.csv", rows, header=("key", "summary", "description", "team"))
    data = load_dataset(path, min_tickets_per_team=1, progress=False)
    assert data.time_ordered is False
    train, test = data.split(0.25)
    assert (train, test) == ([0, 1, 2], [3])


def test_an_empty_created_column_is_not_time_ordered(tmp_path: Path) -> None:
    rows: list[Row] = [(f"K-{i}", f"ticket {i}", "", "AB"[i % 2], "") for i in range(4)]
    data = load_dataset(write_csv(tmp_path / "t.csv", rows), min_tickets_per_team=1, progress=False)
    assert data.time_ordered is False
    assert data.split(0.5) == ([0, 1], [2, 3])


def test_texts_are_normalised_and_summaries_kept_apart(tmp_path: Path) -> None:
    summary = "Refund stuck for <@U024BE7LH> in FSNamesystem — Café"
    description = (
        "h1. Steps\n{code:java}\nat com.example.Refunds.run(Refunds.java:42)\n{code} "
        "see [runbook|https://example.com/r]"
    )
    rows: list[Row] = [
        ("PAY-1", summary, description, "PAYMENTS", day(1)),
        ("PAY-2", "", "Only a description here", "PAYMENTS", day(2)),
        ("DAT-1", "ETL late", "", "DATA", day(3)),
    ]
    data = load_dataset(write_csv(tmp_path / "t.csv", rows), min_tickets_per_team=1, progress=False)
    assert data.texts[0] == ticket_text(summary, description)
    assert data.texts[0] == (
        "refund stuck for in fs namesystem fsnamesystem cafe steps at com example refunds run refunds "
        "java 42 see runbook"
    )
    assert data.summaries == [normalize(summary), "", "etl late"]
    assert data.summaries[0] == "refund stuck for in fs namesystem fsnamesystem cafe"
    assert data.lower_summaries[0] == "refund stuck for in fsnamesystem cafe"  # as people type it
    assert data.raw_summaries[0] == summary and data.keys[:2] == ["PAY-1", "PAY-2"]
    assert data.identifier_counts([0, 1, 2])["FSNamesystem"] == 1
    assert data.texts[1] == "only a description here"
    assert data.teams == ["PAYMENTS", "PAYMENTS", "DATA"]


def test_rows_without_a_team_or_any_text_are_counted_as_skipped(tmp_path: Path) -> None:
    rows: list[Row] = [
        *[(f"PAY-{i}", f"refund {i}", "", "PAYMENTS", day(i + 1)) for i in range(2)],
        *[(f"DAT-{i}", f"etl {i}", "", "DATA", day(i + 3)) for i in range(2)],
        ("X-1", "who owns this", "nobody knows", "", day(7)),
        ("X-2", "", "  ", "DATA", day(8)),
        ("X-3", "   ", "", "  ", day(9)),
    ]
    data = load_dataset(write_csv(tmp_path / "t.csv", rows), min_tickets_per_team=1, progress=False)
    assert data.skipped_rows == 3
    assert len(data) == 4
    assert data.dropped_teams == {}


# --- dates read like collect's, and messages that say what helps -----------------------------


def tickets_file(tmp_path: Path, tickets: list[Ticket]) -> Path:
    path = tmp_path / "tickets.csv"
    write_tickets(path, tickets)
    return path


def test_numeric_dates_are_ordered_by_the_column_and_the_order_is_noted(tmp_path: Path) -> None:
    # 13-01 makes the column day-first: 01-02 is 1 Feb and 02-03 is 2 Mar, both after 13 Jan.
    path = tickets_file(
        tmp_path,
        [
            Ticket("A-1", "newest", "", "A", "02-03-2024 10:00"),
            Ticket("B-1", "oldest", "", "B", "13-01-2024 10:00"),
            Ticket("A-2", "middle", "", "A", "01-02-2024 10:00"),
        ],
    )

    data = load_dataset(path, min_tickets_per_team=1, progress=False)

    order = sorted(range(len(data)), key=lambda i: data.created[i])
    assert [data.summaries[i] for i in order] == ["oldest", "middle", "newest"]
    assert data.time_ordered
    assert data.notes == [
        "created: numeric dates read day-first (dd/mm/yyyy): the column has 1 like '13-01-2024 10:00' "
        "whose first number is above 12"
    ]


def test_unreadable_dates_are_skipped_and_named(tmp_path: Path) -> None:
    good = [Ticket(f"A-{i}", "text", "", "A" if i % 2 else "B", f"2024-01-{i + 1:02d}") for i in range(4)]
    path = tickets_file(tmp_path, [*good, Ticket("X-1", "text", "", "A", "yesterday")])

    data = load_dataset(path, min_tickets_per_team=1, progress=False)

    assert len(data) == 4 and data.skipped_rows == 1
    assert data.notes == ["skipped 1 ticket whose created date cannot be read (X-1 'yesterday')"]


def test_two_teams_but_one_too_small_suggests_the_setting_that_helps(tmp_path: Path) -> None:
    tickets = [Ticket(f"A-{i}", "a", "", "A", "") for i in range(12)]
    tickets += [Ticket(f"B-{i}", "b", "", "B", "") for i in range(4)]

    with pytest.raises(UserError) as raised:
        load_dataset(tickets_file(tmp_path, tickets), min_tickets_per_team=10, progress=False)

    assert str(raised.value).endswith(
        "found A (12), B (4). Collect more tickets or lower --min-tickets-per-team to 4 (which keeps 2 teams)"
    )


@pytest.mark.parametrize("teams", [["A"], []])
def test_fewer_than_two_teams_in_the_file_never_suggests_lowering_the_minimum(
    tmp_path: Path, teams: list[str]
) -> None:
    tickets = [Ticket(f"K-{i}", "text", "", team, "") for team in teams for i in range(30)]
    tickets.append(Ticket("K-0", "text", "", "", ""))  # a row, so the file is not empty

    with pytest.raises(UserError) as raised:
        load_dataset(tickets_file(tmp_path, tickets), min_tickets_per_team=10, progress=False)

    message = str(raised.value)
    assert f"has tickets for {len(teams)} team" in message and "needs at least 2 teams" in message
    assert "--min-tickets-per-team" not in message


def test_latest_is_the_newest_tickets_oldest_first(tmp_path: Path) -> None:
    tickets = tmp_path / "t.csv"
    write_tickets(
        tickets,
        [
            Ticket(f"A-{i}", f"login {i}", "", "AUTH" if i % 2 else "PAY", f"2024-01-{10 + i:02d}")
            for i in range(8)
        ]
        + [Ticket("A-99", "old one", "", "PAY", "2023-05-01")],
    )
    data = load_dataset(tickets, 1, False)
    newest = data.latest(range(len(data)), 3)
    assert [data.keys[i] for i in newest] == ["A-5", "A-6", "A-7"]
    assert data.latest(range(len(data)), 0) == []
