"""`python -m export collect` end to end against the Jira stand-in: output, errors, resume."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from export.__main__ import main
from export.tickets import read_tickets
from tests.support.jira_standin import JiraStandin, synthetic_issues

JQL = "project in (PAY, SRCH, PLAT) ORDER BY created ASC"


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch, jira_standin: JiraStandin) -> Sleeps:
    """Credentials in the environment, no real waiting, and only this command (others may be in progress)."""
    monkeypatch.setattr("export.__main__.COMMANDS", ("collect",))
    for name, value in jira_standin.env().items():
        monkeypatch.setenv(name, value)
    recorder = Sleeps()
    monkeypatch.setattr(time, "sleep", recorder)
    return recorder


def collect(standin: JiraStandin, out: Path, *extra: str, flavor: str = "cloud") -> int:
    flags = ["--base-url", standin.base_url, "--flavor", flavor, "--jql", JQL, "--page-size", "5"]
    return main(["collect", *flags, "--out", str(out), *extra])


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("flavor", ["cloud", "server"])
def test_collects_every_page_into_the_tickets_csv(
    jira_standin: JiraStandin, sleeps: Sleeps, tmp_path: Path, capsys: pytest.CaptureFixture[str], flavor: str
) -> None:
    out = tmp_path / "data" / "tickets.csv"

    assert collect(jira_standin, out, "--team-field", "components", flavor=flavor) == 0

    tickets = read_tickets(out)
    with_component = [issue for issue in synthetic_issues() if issue["fields"]["components"]]
    assert [ticket.key for ticket in tickets] == [issue["key"] for issue in with_component]
    assert {ticket.team for ticket in tickets} == {"Payments core", "Search core", "Platform core"}
    assert capsys.readouterr().out.strip() == (
        f"wrote 20 tickets from 3 teams to {out}; skipped 3 without a team in components"
    )
    assert sorted(path.name for path in out.parent.iterdir()) == ["tickets.csv"]


def test_custom_field_team_on_server(jira_standin: JiraStandin, sleeps: Sleeps, tmp_path: Path) -> None:
    out = tmp_path / "tickets.csv"

    assert collect(jira_standin, out, "--team-field", "customfield_10010", flavor="server") == 0

    assert {ticket.team for ticket in read_tickets(out)} == {"Payments", "Search", "Platform"}
    assert jira_standin.search_requests()[0].query["fields"].endswith(",customfield_10010")


def test_429_is_waited_out(jira_standin: JiraStandin, sleeps: Sleeps, tmp_path: Path) -> None:
    jira_standin.fail(429, page=2, retry_after="3")

    assert collect(jira_standin, tmp_path / "t.csv") == 0

    assert sleeps == [3.0]


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (401, "error: Jira rejected the credentials (HTTP 401): set JIRA_EMAIL and JIRA_API_TOKEN"),
        (404, "(HTTP 404): check --base-url"),
        (400, "error: Jira refused the search (HTTP 400): Unbalanced parenthesis; check --jql"),
        (500, "kept answering HTTP 500"),
    ],
)
def test_jira_errors_exit_2_with_one_line(
    jira_standin: JiraStandin,
    sleeps: Sleeps,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    status: int,
    expected: str,
) -> None:
    jira_standin.fail(status, times=None, error_messages=["Unbalanced parenthesis"])
    out = tmp_path / "t.csv"

    assert collect(jira_standin, out, "--retries", "2") == 2

    assert expected in one_line_error(capsys)
    assert not out.exists()


def test_missing_credentials_exit_2(
    jira_standin: JiraStandin,
    sleeps: Sleeps,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in jira_standin.env():
        monkeypatch.delenv(name)

    assert collect(jira_standin, tmp_path / "t.csv") == 2

    assert "no Jira credentials in the environment" in one_line_error(capsys)
    assert jira_standin.requests == []


@pytest.mark.parametrize(("flavor", "cursor"), [("cloud", "nextPageToken"), ("server", "startAt")])
def test_an_interrupted_collection_resumes_without_refetching(
    jira_standin: JiraStandin,
    sleeps: Sleeps,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    flavor: str,
    cursor: str,
) -> None:
    out = tmp_path / "tickets.csv"
    jira_standin.fail(503, times=None, page=3)

    assert collect(jira_standin, out, "--retries", "0", flavor=flavor) == 2
    assert "2 pages kept in" in one_line_error(capsys)
    assert not out.exists()

    jira_standin.clear_faults()
    jira_standin.requests.clear()
    assert collect(jira_standin, out, flavor=flavor) == 0

    resumed = [request.query.get(cursor) for request in jira_standin.search_requests()]
    assert resumed[0] in ("offset-10", "10")
    assert len(resumed) == 3
    assert [ticket.key for ticket in read_tickets(out)] == [issue["key"] for issue in synthetic_issues()]
    assert not (tmp_path / "tickets.csv.partial.jsonl").exists()


def test_a_half_written_checkpoint_line_is_dropped(
    jira_standin: JiraStandin, sleeps: Sleeps, tmp_path: Path
) -> None:
    out = tmp_path / "tickets.csv"
    jira_standin.fail(500, times=None, page=2)
    collect(jira_standin, out, "--retries", "0")
    with (tmp_path / "tickets.csv.partial.jsonl").open("a") as checkpoint:
        checkpoint.write('{"next": "offset-10", "tickets": [["PAY-')
    jira_standin.clear_faults()
    jira_standin.requests.clear()

    assert collect(jira_standin, out) == 0

    assert jira_standin.search_requests()[0].query["nextPageToken"] == "offset-5"
    assert len(read_tickets(out)) == 23


def test_different_arguments_start_over(
    jira_standin: JiraStandin, sleeps: Sleeps, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "tickets.csv"
    jira_standin.fail(500, times=None, page=3)
    collect(jira_standin, out, "--retries", "0")
    jira_standin.clear_faults()
    jira_standin.requests.clear()
    capsys.readouterr()

    assert collect(jira_standin, out, "--team-field", "customfield_10010") == 0

    assert "different collection; starting over" in capsys.readouterr().err
    assert "nextPageToken" not in jira_standin.search_requests()[0].query
    assert len(read_tickets(out)) == 23


def test_no_usable_tickets_is_an_error_not_an_empty_file(
    jira_standin: JiraStandin, sleeps: Sleeps, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    jira_standin.issues = []
    out = tmp_path / "t.csv"

    assert collect(jira_standin, out) == 2

    assert "no usable tickets" in one_line_error(capsys)
    assert sorted(path.name for path in tmp_path.iterdir()) == []


def test_an_unwritable_output_is_a_one_line_error(
    jira_standin: JiraStandin, sleeps: Sleeps, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")

    assert collect(jira_standin, blocker / "tickets.csv") == 2

    assert "cannot use" in one_line_error(capsys)


def test_from_csv_export(sleeps: Sleeps, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    export = tmp_path / "Jira.csv"
    export.write_text(
        "Issue key,Summary,Description,Created,Project key\r\n"
        'A-1,Refund stuck,"two\r\nlines",05/Jun/24 1:20 PM,PAY\r\n'
        "A-2,,,05/Jun/24 1:21 PM,PAY\r\n"
        "A-1,Refund stuck,again,05/Jun/24 1:20 PM,PAY\r\n",
        encoding="utf-8",
        newline="",
    )
    out = tmp_path / "tickets.csv"

    assert main(["collect", "--from-csv", str(export), "--out", str(out)]) == 0

    assert [(ticket.key, ticket.description) for ticket in read_tickets(out)] == [("A-1", "two\r\nlines")]
    assert (
        capsys.readouterr().out.strip().endswith("skipped 1 with empty summary and description, 1 duplicates")
    )


def test_usage_errors_and_help(sleeps: Sleeps, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert (
        main(["collect", "--base-url", "https://acme.atlassian.net", "--out", str(tmp_path / "t.csv")]) == 2
    )
    assert "--jql is required" in one_line_error(capsys)

    with pytest.raises(SystemExit) as exited:
        main(["collect", "--help"])
    assert exited.value.code == 0
    assert "examples:" in capsys.readouterr().out
