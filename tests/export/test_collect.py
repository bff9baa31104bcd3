"""`python -m export collect` end to end against the Jira stand-in: output, errors, resume."""

from __future__ import annotations

import importlib
import json
import time
from pathlib import Path

import pytest

from export.__main__ import main
from export.tickets import read_tickets
from tests.support.jira_standin import CLOUD_PATH, SERVER_PATH, JiraStandin, synthetic_issues

JQL = "project in (PAY, SRCH, PLAT) ORDER BY created ASC"


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch, jira_standin: JiraStandin) -> Sleeps:
    """Credentials in the environment, no real waiting, and only this command (others may be in progress)."""
    monkeypatch.setattr("export.__main__.COMMANDS", ("collect",))
    # Imported before time.sleep is replaced: JiraClient's `sleep` default is bound at class creation.
    importlib.import_module("export.collect")
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
    assert tickets[0].url == f"{jira_standin.base_url}/browse/{tickets[0].key}"  # answers link to it
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


@pytest.mark.parametrize(
    ("out", "message"),
    [
        ("file/tickets.csv", "its folder {tmp}/file is a file, not a folder"),
        ("file/deeper/tickets.csv", "is inside a file ({tmp}/file)"),
        ("folder", "--out {tmp}/folder is a directory; give the path of the file to write"),
    ],
)
def test_an_unusable_output_fails_before_any_request(
    jira_standin: JiraStandin,
    sleeps: Sleeps,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    out: str,
    message: str,
) -> None:
    (tmp_path / "file").write_text("not a directory")
    (tmp_path / "folder").mkdir()

    assert collect(jira_standin, tmp_path / out) == 2

    assert message.format(tmp=tmp_path) in one_line_error(capsys)
    assert jira_standin.requests == []


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
        capsys.readouterr()
        .out.strip()
        .endswith("skipped 1 with empty summary and description (A-2), 1 duplicates")
    )


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        (["--page-size", "0"], "argument --page-size: must be at least 1, got 0"),
        (["--retries", "-1"], "argument --retries: must be at least 0, got -1"),
        (["--page-size", "ten"], "argument --page-size: must be a whole number, got 'ten'"),
    ],
)
def test_bad_numbers_are_refused_before_any_request(
    jira_standin: JiraStandin,
    sleeps: Sleeps,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    flag: list[str],
    message: str,
) -> None:
    assert collect(jira_standin, tmp_path / "t.csv", *flag) == 2

    assert one_line_error(capsys) == f"error: {message} (see python -m export collect --help)"
    assert jira_standin.requests == []


def test_usage_errors_and_help(sleeps: Sleeps, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert (
        main(["collect", "--base-url", "https://acme.atlassian.net", "--out", str(tmp_path / "t.csv")]) == 2
    )
    assert "--jql is required" in one_line_error(capsys)

    with pytest.raises(SystemExit) as exited:
        main(["collect", "--help"])
    assert exited.value.code == 0
    assert "examples:" in capsys.readouterr().out


FIXTURES = Path(__file__).parent / "fixtures"


def test_from_csv_says_which_date_order_it_chose_and_names_bad_dates(
    sleeps: Sleeps, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "tickets.csv"

    code = main(
        [
            "collect",
            "--from-csv",
            str(FIXTURES / "resaved-day-first.csv"),
            "--team-field",
            "Team",
            "--out",
            str(out),
        ]
    )

    assert code == 0
    assert capsys.readouterr().out.splitlines() == [
        "note: Created: numeric dates read day-first (dd/mm/yyyy): the column has 1 like '13-09-2024 09:10' "
        "whose first number is above 12",
        f"wrote 4 tickets from 2 teams to {out}; skipped 2 with an unreadable Created date "
        "(WEB-2 '31-02-2024 10:00', WEB-3 'last Tuesday')",
    ]
    assert [ticket.created for ticket in read_tickets(out)][:2] == [
        "2024-09-06T13:55:00",
        "2024-09-13T09:10:00",
    ]


def test_from_csv_date_order_can_be_given(
    sleeps: Sleeps, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "tickets.csv"
    args = ["collect", "--from-csv", str(FIXTURES / "resaved-day-first.csv"), "--team-field", "Team"]

    assert main([*args, "--date-order", "month-first", "--out", str(out)]) == 0

    assert "as --date-order says" in capsys.readouterr().out
    assert read_tickets(out)[0].created == "2024-06-09T13:55:00"


def test_from_csv_a_directory_is_called_a_directory(
    sleeps: Sleeps, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["collect", "--from-csv", str(tmp_path), "--out", str(tmp_path / "t.csv")]) == 2

    assert one_line_error(capsys) == f"error: {tmp_path} is a directory, not a Jira CSV export"


def test_from_csv_apache_export_without_descriptions(
    sleeps: Sleeps, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "tickets.csv"

    assert (
        main(
            [
                "collect",
                "--from-csv",
                str(FIXTURES / "apache-export.csv"),
                "--team-field",
                "components",
                "--out",
                str(out),
            ]
        )
        == 0
    )

    first = read_tickets(out)[0]
    assert (first.key, first.description, first.created) == (
        "LEDGER-31",
        "",
        "2021-10-22T16:55:00",
    )
    assert "skipped 1 without a team in components (GATEWAY-5)" in capsys.readouterr().out


def test_a_cloud_site_on_its_own_domain_is_retried_as_cloud(
    jira_standin: JiraStandin, sleeps: Sleeps, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    jira_standin.cloud_only = True
    out = tmp_path / "tickets.csv"
    flags = ["--base-url", jira_standin.base_url, "--jql", JQL, "--page-size", "10", "--out", str(out)]

    assert main(["collect", *flags]) == 0  # 127.0.0.1 is not *.atlassian.net: server is the default

    paths = [request.path for request in jira_standin.search_requests()]
    assert paths == [SERVER_PATH, CLOUD_PATH, CLOUD_PATH, CLOUD_PATH]
    err = capsys.readouterr().err
    assert f"note: {jira_standin.base_url}{SERVER_PATH} answered HTTP 410 Gone, so this is Jira Cloud" in err
    assert "carrying on as --flavor cloud" in err
    assert [ticket.key for ticket in read_tickets(out)] == [issue["key"] for issue in synthetic_issues()]


def test_after_a_410_switch_the_checkpoint_records_cloud_and_resumes_as_cloud(
    jira_standin: JiraStandin, sleeps: Sleeps, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    jira_standin.cloud_only = True
    jira_standin.fail(503, times=None, page=3)
    out = tmp_path / "tickets.csv"

    assert collect(jira_standin, out, "--retries", "0", flavor="server") == 2
    checkpoint = tmp_path / "tickets.csv.partial.jsonl"
    assert json.loads(checkpoint.read_text().splitlines()[0])["params"]["flavor"] == "cloud"
    assert "2 pages kept in" in one_line_error(capsys)

    jira_standin.clear_faults()
    jira_standin.requests.clear()
    assert collect(jira_standin, out, flavor="server") == 0

    resumed = jira_standin.search_requests()
    assert [request.path for request in resumed] == [CLOUD_PATH] * 3
    assert resumed[0].query["nextPageToken"] == "offset-10"
    assert len(read_tickets(out)) == 23


def test_adf_descriptions_keep_link_text_and_urls_apart(
    jira_standin: JiraStandin, sleeps: Sleeps, tmp_path: Path
) -> None:
    page = json.loads((FIXTURES / "cloud-search-jql-adf.json").read_text(encoding="utf-8"))
    jira_standin.issues = page["issues"]
    out = tmp_path / "tickets.csv"

    assert collect(jira_standin, out, "--team-field", "components") == 0

    [ticket] = read_tickets(out)
    assert ticket.description == (
        "Support follows the refund runbook https://wiki.example/refunds but it was retired; see "
        "https://acme.example/browse/PAY-190 https://acme.example/browse/PAY-191.\n"
        "Inline Node https://acme.example/browse/PAY-192\n"
        "cc @Dana Ortiz thanks 😀\n"
        "IN PROGRESS since\n"
        "https://acme.example/browse/PAY-193"
    )
    assert (ticket.team, ticket.created) == ("Refunds", "2024-06-05T13:20:00.000+0200")
