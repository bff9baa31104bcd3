"""The feedback store: the in-memory one (local mode) and the DynamoDB one on a real DynamoDB API (moto
server, the table shaped as deploy/merge-template.json declares it) keep the same records by the same
rules; the table's records expire after the retention period; a table that cannot be written raises."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from chalicelib.config import ConfigError, parse_settings
from chalicelib.jobs import UNKNOWN_TEAM, Job
from chalicelib.worker.feedback_store import (
    CORRECTION_KEPT,
    STORED,
    DynamoDBFeedbackStore,
    FeedbackNotStored,
    FeedbackRecord,
    InMemoryFeedbackStore,
    feedback_store_from_settings,
)
from tests.support.dynamodb import Table

MINIMAL = {
    "SLACK_SIGNING_SECRET": "s3cr3t-value",
    "SLACK_BOT_TOKEN": "xoxb-secret-token",
    "MODEL_URI": "s3://bucket/models",
    "WORKER_FUNCTION_NAME": "whoknows-dev-worker",
}
AT = datetime(2024, 6, 3, 9, 30, 5, tzinfo=UTC)


def _job(verdict: str = "wrong", corrected: str | None = None, **fields: Any) -> Job:
    defaults: dict[str, Any] = {
        "question_id": "slash:trig.1",
        "suggested_team": "PAYMENTS",
        "user_id": "U1",
        "response_url": "https://hooks.slack.com/actions/T1/1/secret",
        "trigger_id": f"click.{verdict}",
        "team_id": "T1",
        "model_version": "v7",
        "question_text": "who owns &lt;refunds&gt;?",
        "channel_id": "C1",
    }
    return Job.for_feedback(verdict=verdict, corrected_team=corrected, **{**defaults, **fields})  # type: ignore[arg-type]


def _record(job: Job, at: datetime = AT, keep_question: bool = True) -> FeedbackRecord:
    return FeedbackRecord.from_job(job, at, keep_question)


class Memory:
    """The in-memory store, read the way the table is."""

    def __init__(self, keep_questions: bool) -> None:
        self.store = InMemoryFeedbackStore(keep_questions)

    def items(self) -> list[dict[str, Any]]:
        return [
            {key: value for key, value in vars(record).items() if value is not None}
            for record in self.store.records()
        ]


class Dynamo:
    def __init__(self, table: Table, keep_questions: bool) -> None:
        self.table = table
        self.store = DynamoDBFeedbackStore(
            table.name, 365, keep_questions, client=boto3.client("dynamodb"), clock=lambda: 1_700_000_000
        )

    def items(self) -> list[dict[str, Any]]:
        return [{k: v for k, v in item.items() if k != "expires_at"} for item in self.table.items()]


@pytest.fixture(params=["in-memory", "dynamodb"])
def make_store(request: pytest.FixtureRequest, feedback_table: Table) -> Callable[[bool], Any]:
    if request.param == "in-memory":
        return Memory
    return lambda keep: Dynamo(feedback_table, keep)


# --- the contract, for both stores -----------------------------------------------------------


def test_a_record_holds_the_verdict_teams_version_time_and_ids(make_store: Callable[[bool], Any]) -> None:
    store = make_store(True)

    assert store.store.save(_record(_job("wrong"))) == STORED

    assert store.items() == [
        {
            "question_id": "slash:trig.1",
            "user_id": "U1",
            "verdict": "wrong",
            "suggested_team": "PAYMENTS",
            "model_version": "v7",
            "time": "2024-06-03T09:30:05Z",
            "team_id": "T1",
            "channel_id": "C1",
            "question": "who owns &lt;refunds&gt;?",
        }
    ]


def test_the_question_is_kept_only_when_the_operator_enables_it(make_store: Callable[[bool], Any]) -> None:
    store = make_store(False)

    store.store.save(_record(_job("right"), keep_question=True))  # even a record that carries it

    [item] = store.items()
    assert "question" not in item and item["verdict"] == "right"


def test_a_correction_updates_the_wrong_click_and_keeps_its_question_and_version(
    make_store: Callable[[bool], Any],
) -> None:
    store = make_store(True)
    store.store.save(_record(_job("wrong")))

    later = datetime(2024, 6, 3, 9, 31, tzinfo=UTC)
    corrected = _job("corrected", "DATA", question_text=None, model_version=None, channel_id=None)
    assert store.store.save(_record(corrected, later)) == STORED

    [item] = store.items()
    assert (item["verdict"], item["corrected_team"], item["suggested_team"]) == (
        "corrected",
        "DATA",
        "PAYMENTS",
    )
    assert item["question"] == "who owns &lt;refunds&gt;?" and item["model_version"] == "v7"
    assert item["channel_id"] == "C1" and item["time"] == "2024-06-03T09:31:00Z"


def test_i_dont_know_is_a_correction_to_the_unknown_team(make_store: Callable[[bool], Any]) -> None:
    store = make_store(True)

    store.store.save(_record(_job("corrected", UNKNOWN_TEAM)))

    [item] = store.items()
    assert (item["verdict"], item["corrected_team"]) == ("corrected", UNKNOWN_TEAM)


def test_wrong_again_keeps_the_correction_but_that_helped_replaces_it(
    make_store: Callable[[bool], Any],
) -> None:
    store = make_store(True)
    store.store.save(_record(_job("corrected", "DATA")))

    assert store.store.save(_record(_job("wrong"))) == CORRECTION_KEPT
    assert [(i["verdict"], i.get("corrected_team")) for i in store.items()] == [("corrected", "DATA")]
    assert store.store.save(_record(_job("right"))) == STORED
    assert [(i["verdict"], i.get("corrected_team")) for i in store.items()] == [("right", None)]


def test_one_record_per_question_and_user(make_store: Callable[[bool], Any]) -> None:
    store = make_store(True)

    store.store.save(_record(_job("right")))
    store.store.save(_record(_job("right", user_id="U2")))
    store.store.save(_record(_job("wrong", question_id="slash:trig.2")))
    store.store.save(_record(_job("wrong")))  # U1 changed their mind about trig.1

    found = sorted((item["question_id"], item["user_id"], item["verdict"]) for item in store.items())
    assert found == [
        ("slash:trig.1", "U1", "wrong"),
        ("slash:trig.1", "U2", "right"),
        ("slash:trig.2", "U1", "wrong"),
    ]


# --- the DynamoDB table ----------------------------------------------------------------------


def test_records_expire_after_the_retention_period(feedback_table: Table) -> None:
    store = DynamoDBFeedbackStore(feedback_table.name, 30, False, client=boto3.client("dynamodb"))
    before = int(time.time())

    store.save(_record(_job("right")))

    [item] = feedback_table.items()
    assert before + 30 * 86_400 <= item["expires_at"] <= int(time.time()) + 30 * 86_400


def test_turning_question_storage_off_removes_a_kept_question_at_the_next_write(
    feedback_table: Table,
) -> None:
    client = boto3.client("dynamodb")
    DynamoDBFeedbackStore(feedback_table.name, 365, True, client=client).save(_record(_job("wrong")))
    assert feedback_table.items()[0]["question"]

    DynamoDBFeedbackStore(feedback_table.name, 365, False, client=client).save(
        _record(_job("corrected", "DATA"))
    )

    assert "question" not in feedback_table.items()[0]


def test_a_missing_table_raises_with_its_name(feedback_table: Table) -> None:
    store = DynamoDBFeedbackStore(f"{feedback_table.name}-gone", 365, False, client=boto3.client("dynamodb"))

    with pytest.raises(FeedbackNotStored, match=r"-gone: ResourceNotFoundException"):
        store.save(_record(_job("right")))


# --- settings --------------------------------------------------------------------------------


def test_without_a_table_feedback_stays_in_the_container_and_questions_are_not_kept() -> None:
    settings = parse_settings(MINIMAL)

    assert (settings.feedback_table, settings.feedback_retention_days) == (None, 365)
    assert settings.store_feedback_questions is False
    store = feedback_store_from_settings(settings)
    assert isinstance(store, InMemoryFeedbackStore) and store.keep_questions is False


@pytest.mark.parametrize("value", ["true", "TRUE", "1", "yes", "on"])
def test_storing_questions_is_switched_on_by_a_true_value(value: str) -> None:
    assert parse_settings({**MINIMAL, "STORE_FEEDBACK_QUESTIONS": value}).store_feedback_questions is True


def test_with_a_table_feedback_is_written_there(feedback_table: Table) -> None:
    settings = parse_settings(
        {
            **MINIMAL,
            "FEEDBACK_TABLE": feedback_table.name,
            "FEEDBACK_RETENTION_DAYS": "90",
            "STORE_FEEDBACK_QUESTIONS": "true",
        }
    )

    store = feedback_store_from_settings(settings)
    store.save(_record(_job("right")))

    assert isinstance(store, DynamoDBFeedbackStore)
    assert (store.table_name, store.retention_days, store.keep_questions) == (feedback_table.name, 90, True)
    assert [item["verdict"] for item in feedback_table.items()] == ["right"]


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("FEEDBACK_TABLE", "no spaces", "FEEDBACK_TABLE must be a DynamoDB table name"),
        ("FEEDBACK_RETENTION_DAYS", "a year", "FEEDBACK_RETENTION_DAYS must be a whole number of days"),
        ("FEEDBACK_RETENTION_DAYS", "0", "FEEDBACK_RETENTION_DAYS must be a whole number of days"),
        ("STORE_FEEDBACK_QUESTIONS", "maybe", "STORE_FEEDBACK_QUESTIONS must be true or false"),
    ],
)
def test_invalid_feedback_settings_are_named(name: str, value: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        parse_settings({**MINIMAL, name: value})
