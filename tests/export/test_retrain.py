"""`python -m export retrain`: three runs of a cron job against the Jira stand-in, the feedback table
on moto's DynamoDB server and the bucket on moto's S3 server: a first publish, a refusal after a
bulk edit scrambled the teams of old tickets, a publish once it is undone; and one-line failures."""

from __future__ import annotations

import fcntl
import json
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from chalicelib.model.manifest import MANIFEST_NAME
from chalicelib.model.ticket_index import TicketIndex
from chalicelib.worker.feedback_store import DynamoDBFeedbackStore, FeedbackRecord
from export.__main__ import main
from export.incremental import since_clause
from export.sample import SAMPLE_TEAMS, SAMPLE_TICKETS
from export.tickets import Ticket, read_tickets
from tests.support.dynamodb import Table
from tests.support.jira_standin import JiraStandin

JQL = "project in (PAY, PLAT, DATA, IDN, MOB, SRCH) ORDER BY created ASC"


def issue(ticket: Ticket, team: str | None = None, updated: str | None = None) -> dict[str, Any]:
    """A sample ticket as Jira Server serves it, its team in a custom field."""
    return {
        "id": ticket.key,
        "key": ticket.key,
        "fields": {
            "summary": ticket.summary,
            "description": ticket.description,
            "created": ticket.created,
            "updated": updated or ticket.created,
            "customfield_10010": {"value": team or ticket.team},
        },
    }


def jira_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def write_config(folder: Path, jira: JiraStandin, bucket: str, table: str | None, **extra: str) -> Path:
    feedback = f'[feedback]\ntable = "{table}"\n' if table else ""
    text = (
        'work_dir = "work"\n'
        f'[collect]\nbase_url = "{jira.base_url}"\nflavor = "server"\njql = "{JQL}"\n'
        'team_field = "customfield_10010"\npage_size = 100\n'
        f"{feedback}"
        "[train]\nmin_tickets_per_team = 5\n"
        f'[publish]\ndest = "s3://{bucket}/models"\nteams = "{SAMPLE_TEAMS}"\n'
    )
    for key, line in extra.items():
        text = text.replace(f"[{key}]\n", f"[{key}]\n{line}\n")
    path = folder / "retrain.toml"
    path.write_text(text)
    return path


def retrain(config: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """The exit status and the summary line (the last line printed)."""
    code = main(["retrain", "--config", str(config)])
    return code, capsys.readouterr().out.splitlines()[-1]


def pointer(s3: tuple[Any, str]) -> dict[str, Any]:
    client, bucket = s3
    return json.loads(client.get_object(Bucket=bucket, Key=f"models/{MANIFEST_NAME}")["Body"].read())


def candidate_version(tmp_path: Path) -> str:
    return json.loads((tmp_path / "work" / "candidate" / MANIFEST_NAME).read_text())["version"]


@pytest.fixture
def jira(jira_standin: JiraStandin, monkeypatch: pytest.MonkeyPatch) -> JiraStandin:
    for name, value in jira_standin.env().items():
        monkeypatch.setenv(name, value)
    jira_standin.issues = []
    return jira_standin


def test_a_cron_of_retrains_publishes_refuses_a_worse_model_then_publishes(
    tmp_path: Path,
    jira: JiraStandin,
    s3_bucket: tuple[Any, str],
    feedback_table: Table,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tickets = sorted(read_tickets(SAMPLE_TICKETS), key=lambda t: t.created)
    sixty, eighty = len(tickets) * 6 // 10, len(tickets) * 8 // 10
    jira.issues = [issue(t) for t in tickets[:sixty]]
    store = DynamoDBFeedbackStore(feedback_table.name, 365, keep_questions=True, client=feedback_table.client)
    store.save(
        FeedbackRecord(
            "slash:t1",
            "U1",
            "corrected",
            "MOBILE",
            "2026-01-05T10:00:00Z",
            "PAYMENTS",
            "v0",
            question="tillpoint terminals are offline",
        )
    )
    store.save(
        FeedbackRecord("slash:t2", "U1", "right", "DATA", "2026-01-06T10:00:00Z", question="who owns prism?")
    )
    config = write_config(tmp_path, jira, s3_bucket[1], feedback_table.name, train="index_tickets = 40")

    code, line = retrain(config, capsys)

    first = candidate_version(tmp_path)
    assert len(TicketIndex.load(tmp_path / "work" / "candidate" / "tickets.npz")) == 40  # the config's
    assert (code, line) == (
        0,
        f"retrain: published {first} (not compared: nothing is published yet: nothing to compare with)",
    )
    assert {request.query["jql"] for request in jira.search_requests()} == {JQL}

    # A bulk edit scrambles the teams of the old tickets; newer tickets come in.
    scrambled = [t.team for t in tickets[:sixty]]
    random.Random(3).shuffle(scrambled)
    now = jira_now()
    jira.issues = [issue(t, team, now) for t, team in zip(tickets[:sixty], scrambled, strict=True)]
    jira.issues += [issue(t, updated=now) for t in tickets[sixty:eighty]]
    jira.requests.clear()

    code, line = retrain(config, capsys)

    second = candidate_version(tmp_path)
    assert code == 1
    assert line.startswith(
        f"retrain: refused {second}: candidate {second} is worse than the published {first}: "
    )
    assert "on the 72 held-out tickets newer than the published model's (2024-03-24T03:56:34+00:00)" in line
    assert line.endswith(
        f"candidate kept in {tmp_path / 'work' / 'candidate'} (publish it with --force to override)"
    )
    [asked] = {request.query["jql"] for request in jira.search_requests()}
    assert asked.startswith('(project in (PAY, PLAT, DATA, IDN, MOB, SRCH)) AND updated >= "')
    assert asked.endswith('" ORDER BY created ASC')
    assert pointer(s3_bucket)["version"] == first

    # The edit is undone and the rest of the tickets come in.
    now = jira_now()
    jira.issues = [issue(t, updated=now) for t in tickets]

    code, line = retrain(config, capsys)

    third = candidate_version(tmp_path)
    assert code == 0
    assert line.startswith(f"retrain: published {third} (top-1 0.")
    assert line.endswith(f"on 144 held-out tickets new to {first})")  # held out: all after the first's
    published = pointer(s3_bucket)
    assert published["version"] == third and published["publish"]["passed"] is True
    assert published["training_data"]["feedback"]["questions"] == 2
    assert published["team_directory"]["path"].startswith(f"versions/{third}/teams-")
    merged = read_tickets(tmp_path / "work" / "tickets.csv")
    assert sorted((t.key, t.team) for t in merged) == sorted((t.key, t.team) for t in tickets)

    # Nothing new since: nothing to judge a new model on, so nothing is trained.
    code, line = retrain(config, capsys)

    assert (code, line) == (
        1,
        "retrain: refused: only 0 tickets created after 2024-12-23T02:07:19+00:00, the newest the published "
        "model trained on; 30 are needed to judge a new model against it: retrain when more are in; "
        "nothing trained",
    )
    assert candidate_version(tmp_path) == third and pointer(s3_bucket)["version"] == third


def test_since_clause_keeps_the_query_and_its_order() -> None:
    since = datetime(2026, 3, 4, 5, 6, tzinfo=UTC)

    assert since_clause(JQL, since) == (
        '(project in (PAY, PLAT, DATA, IDN, MOB, SRCH)) AND updated >= "2026-03-04 05:06" '
        "ORDER BY created ASC"
    )
    assert (
        since_clause("project = PAY", since)
        == '(project = PAY) AND updated >= "2026-03-04 05:06" ORDER BY created ASC'
    )
    assert since_clause("order by key", since) == 'updated >= "2026-03-04 05:06" order by key'


def test_a_failed_step_is_named_in_the_summary_line(
    tmp_path: Path,
    jira: JiraStandin,
    s3_bucket: tuple[Any, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in jira.env():
        monkeypatch.delenv(name)

    code, line = retrain(write_config(tmp_path, jira, s3_bucket[1], None), capsys)

    assert code == 2
    assert line.startswith(
        "retrain: failed at collect: no Jira credentials in the environment: set JIRA_EMAIL"
    )
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"train": "min_tickets = 5"},
            "unknown key [train] min_tickets (did you mean min_tickets_per_team?)",
        ),
        ({"publish": "max_drop = 2"}, "[publish] max_drop must be from 0 to 1, got 2"),
        ({"train": "max_model_mb = 0"}, "[train] max_model_mb must be from 0.1 to 10000, got 0"),
        ({"train": "index_tickets = 0"}, "[train] index_tickets must be a whole number of at least 1, got 0"),
        (
            {"train": "test_fraction = 1"},
            "[train] test_fraction must be between 0 and 1 (both excluded), got 1",
        ),
        ({"publish": 'max_drop = "one point"'}, "[publish] max_drop must be a number, got 'one point'"),
        (
            {"collect": 'flavor = "datacenter"'},
            "[collect] flavor must be one of cloud, server, got 'datacenter'",
        ),
        ({"feedback": 'tabel = "x"'}, "unknown key [feedback] tabel (did you mean table?)"),
    ],
)
def test_config_mistakes_are_one_line_before_any_work(
    tmp_path: Path,
    jira: JiraStandin,
    capsys: pytest.CaptureFixture[str],
    change: dict[str, str],
    message: str,
) -> None:
    config = write_config(tmp_path, jira, "bucket", "whoknows-prod-feedback", **change)
    if "flavor" in message:
        config.write_text(config.read_text().replace('flavor = "server"\n', "", 1))

    code, line = retrain(config, capsys)

    assert (code, line) == (2, f"retrain: failed at config: {config}: {message}")
    assert jira.requests == [] and not (tmp_path / "work").exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("work_dir = 'w'\n[collect]\nbase_url = 'https://x.example'\n", "[collect] jql is required"),
        ("[publish]\ndest = 's3://b/m'\n", "work_dir is required: the folder retrain keeps"),
        ("work_dir = 'w'\n[collect\n", "is not valid TOML: "),
        ("work_dir = 'w'\ncollect = 3\n", "collect must be a section ([collect]), not a value"),
    ],
)
def test_a_config_that_is_not_one_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    config = tmp_path / "retrain.toml"
    config.write_text(text)

    code, line = retrain(config, capsys)

    assert code == 2 and line.startswith(f"retrain: failed at config: {config}") and message in line
    assert main(["retrain", "--config", str(tmp_path / "absent.toml")]) == 2
    assert "absent.toml does not exist" in capsys.readouterr().out


def test_a_second_run_in_the_same_work_dir_fails_at_once(
    tmp_path: Path, jira: JiraStandin, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, jira, "bucket", None)
    (tmp_path / "work").mkdir()
    with (tmp_path / "work" / "retrain.lock").open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)

        code, line = retrain(config, capsys)

    assert (code, line) == (
        2,
        f"retrain: failed at config: another retrain is running in {tmp_path / 'work'} "
        f"(it holds {tmp_path / 'work' / 'retrain.lock'})",
    )
    assert jira.requests == []
