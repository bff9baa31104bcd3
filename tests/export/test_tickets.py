"""The tickets CSV contract between collect and train, including every way real files go wrong."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from export.errors import UserError
from export.tickets import Ticket, read_tickets, read_tickets_with_report, team_counts, write_tickets

HEADER = "key,summary,description,team,created\r\n"


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_round_trip_keeps_multiline_text_huge_fields_and_empty_descriptions(tmp_path: Path) -> None:
    huge = "java.lang.NullPointerException at Foo.bar(Foo.java:42)\r\n" * 28_000
    assert len(huge) > 1_500_000
    tickets = [
        Ticket(
            "PAY-1",
            "Refund stuck",
            'line one\r\nline "two", with comma',
            "Payments",
            "2024-01-02T10:00:00.000+0000",
        ),
        Ticket("PAY-2", "Log dump", huge, "Payments", "2024-01-03T10:00:00.000+0000"),
        Ticket("SRCH-3", "No description", "", "Search", ""),
    ]
    path = tmp_path / "tickets.csv"

    assert write_tickets(path, tickets) == 3

    assert read_tickets(path) == tickets
    assert [name for name in os.listdir(tmp_path)] == ["tickets.csv"]


def test_write_is_atomic_when_the_writer_fails_midway(tmp_path: Path) -> None:
    path = tmp_path / "tickets.csv"
    write_tickets(path, [Ticket("A-1", "old", "", "Team", "")])

    def broken() -> object:
        yield Ticket("A-2", "new", "", "Team", "")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        write_tickets(path, broken())  # type: ignore[arg-type]

    assert [ticket.summary for ticket in read_tickets(path)] == ["old"]
    assert os.listdir(tmp_path) == ["tickets.csv"]


def test_empty_texts_and_missing_teams_are_skipped_and_counted(tmp_path: Path) -> None:
    path = write(
        tmp_path / "t.csv",
        HEADER
        + 'A-1,,,Payments,\r\nA-2,"  ","\r\n",Payments,\r\nA-3,Has text,,,\r\nA-4,Kept,,Search,\r\n,,,,\r\n',
    )

    tickets, report = read_tickets_with_report(path)

    assert [ticket.key for ticket in tickets] == ["A-4"]
    assert tickets[0].description == ""
    assert (report.rows, report.skipped_empty_text, report.skipped_no_team) == (4, 2, 1)


def test_extra_columns_and_any_column_order_are_accepted(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", "source,Team,created,description,summary,key\nx,Search,2024,d,s,K-1\n")

    assert read_tickets(path) == [Ticket("K-1", "s", "d", "Search", "2024")]


def test_without_key_and_created_file_order_stands_in_for_time(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", "summary,description,team\nfirst,,A\nsecond,,B\n")

    tickets, report = read_tickets_with_report(path)

    assert [(ticket.key, ticket.created) for ticket in tickets] == [("row-1", ""), ("row-2", "")]
    assert not report.has_created and not report.has_key


def test_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", "\ufeff" + HEADER + "K-1,Café crème,,Équipe,\r\n")

    assert read_tickets(path)[0].team == "Équipe"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"key,summery,team\nK,x,A\n", "has no 'summary' column (columns that could be meant: summery)"),
        (b"key,title,body,owner\nK,x,y,z\n", "has no 'summary' or 'team' column"),
        (
            b"Issue key,Summary,Component/s\nK-1,x,y\n",
            "a Jira CSV export goes through `python -m export collect --from-csv FILE",
        ),
        (b"", "is empty"),
        (b"\n  \r\n", "is empty"),
        (HEADER.encode(), "has a header but no rows"),
        (
            HEADER.encode() + "K-1,caf\u00e9,,A,\n".encode("cp1252"),
            f"invalid byte 0xe9 at byte offset {len(HEADER) + 7}",
        ),
        ("summary,description,team\n".encode("utf-16"), "UTF-16"),
    ],
)
def test_bad_files_give_one_line_errors(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(content)

    with pytest.raises(UserError) as raised:
        read_tickets(path)

    assert expected in str(raised.value)
    assert "\n" not in str(raised.value)


def test_description_is_optional(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", "key,summary,team\r\nK-1,Login loops,IDN\r\n")

    tickets, report = read_tickets_with_report(path)

    assert tickets == [Ticket("K-1", "Login loops", "", "IDN", "")]
    assert not report.has_description


def test_missing_file_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="does not exist"):
        read_tickets(tmp_path / "nope.csv")


def test_team_counts() -> None:
    tickets = [Ticket(str(n), "s", "", team, "") for n, team in enumerate(["A", "B", "A"])]

    assert team_counts(tickets).most_common() == [("A", 2), ("B", 1)]
