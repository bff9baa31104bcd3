"""Loading tickets for training: date order from the whole column, unreadable dates, too few teams."""

from __future__ import annotations

from pathlib import Path

import pytest

from export.dataset import load_dataset
from export.errors import UserError
from export.tickets import Ticket, write_tickets


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
