"""Each job answered once: the in-memory guard (one container) and the DynamoDB ledger on a real
DynamoDB API (moto server, table shaped as deploy/merge-template.json declares it) behave the same,
and only the DynamoDB one holds across containers."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from chalicelib.config import ConfigError, parse_settings
from chalicelib.worker.idempotency import (
    DUPLICATE,
    KEY_PREFIX,
    DynamoDBAnswerOnce,
    InMemoryAnswerOnce,
    LedgerUnavailable,
    answer_once_from_settings,
    record_key,
)
from tests.support.dynamodb import Table

MINIMAL = {
    "SLACK_SIGNING_SECRET": "s3cr3t-value",
    "SLACK_BOT_TOKEN": "xoxb-secret-token",
    "MODEL_URI": "s3://bucket/models",
    "WORKER_FUNCTION_NAME": "whoknows-dev-worker",
}


class LambdaContext:
    """What the ledger reads from the Lambda context: the invocation's remaining time."""

    def __init__(self, remaining_ms: int) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


class Killed(BaseException):
    """What the runtime does to an invocation at its timeout: nothing after it runs, no `except Exception`."""


class Answers:
    """Counts the answers given; each call is one post a user would see."""

    def __init__(self, outcome: str = "answered") -> None:
        self.outcome = outcome
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        return self.outcome


def in_memory(table: Table) -> InMemoryAnswerOnce:
    return InMemoryAnswerOnce()


def dynamodb(table: Table) -> DynamoDBAnswerOnce:
    return DynamoDBAnswerOnce(table.name, expiry_seconds=3600)


@pytest.fixture(params=[in_memory, dynamodb], ids=["in-memory", "dynamodb"])
def make_once(request: pytest.FixtureRequest, idempotency_table: Table) -> Callable[[], Any]:
    return lambda: request.param(idempotency_table)


# --- the contract, for both implementations --------------------------------------------------


def test_first_caller_answers_every_later_one_is_a_duplicate(make_once: Callable[[], Any]) -> None:
    once, answer = make_once(), Answers()

    outcomes = [once.run("message:T1:C1:1700.1", answer) for _ in range(4)]

    assert outcomes == ["answered", DUPLICATE, DUPLICATE, DUPLICATE]
    assert answer.calls == 1


def test_failed_answered_counts_as_done(make_once: Callable[[], Any]) -> None:
    once, answer = make_once(), Answers("failed_answered")

    assert once.run("slash:t1", answer) == "failed_answered"
    assert once.run("slash:t1", answer) == DUPLICATE
    assert answer.calls == 1


def test_a_failed_answer_is_forgotten_so_the_retry_answers(make_once: Callable[[], Any]) -> None:
    once, answer = make_once(), Answers()

    def post_fails() -> str:
        raise RuntimeError("slack down")

    with pytest.raises(RuntimeError, match="slack down"):
        once.run("slash:t1", post_fails)
    assert once.run("slash:t1", answer) == "answered"
    assert once.run("slash:t1", answer) == DUPLICATE
    assert answer.calls == 1


def test_a_job_being_answered_is_a_duplicate_without_raising(make_once: Callable[[], Any]) -> None:
    once = make_once()
    entered, release = threading.Event(), threading.Event()
    outcomes: list[str] = []

    def slow_answer() -> str:
        entered.set()
        assert release.wait(10)
        return "answered"

    first = threading.Thread(target=lambda: outcomes.append(once.run("slash:t1", slow_answer)))
    first.start()
    assert entered.wait(10)
    second = Answers()
    try:
        assert once.run("slash:t1", second, LambdaContext(60_000)) == DUPLICATE
    finally:
        release.set()
        first.join(10)

    assert outcomes == ["answered"] and second.calls == 0


def test_different_jobs_do_not_block_each_other(make_once: Callable[[], Any]) -> None:
    once, answer = make_once(), Answers()

    assert [once.run(f"slash:t{n}", answer) for n in range(3)] == ["answered"] * 3


# --- across containers ---------------------------------------------------------------------


def test_two_containers_share_the_dynamodb_record(idempotency_table: Table) -> None:
    import boto3

    containers = [
        DynamoDBAnswerOnce(
            idempotency_table.name,
            3600,
            client=boto3.session.Session().client("dynamodb"),  # separate clients, separate state
        )
        for _ in range(2)
    ]
    answer = Answers()

    outcomes = [container.run("message:T1:C1:1700.1", answer) for container in containers]

    assert outcomes == ["answered", DUPLICATE] and answer.calls == 1


def test_without_the_table_two_containers_both_answer() -> None:
    """Why the table exists: per-container memory cannot see the other container's answer."""
    containers, answer = [InMemoryAnswerOnce(), InMemoryAnswerOnce()], Answers()

    outcomes = [container.run("message:T1:C1:1700.1", answer) for container in containers]

    assert outcomes == ["answered", "answered"] and answer.calls == 2


def test_concurrent_containers_answer_once(idempotency_table: Table) -> None:
    containers = [DynamoDBAnswerOnce(idempotency_table.name, 3600) for _ in range(8)]
    answer, start = Answers(), threading.Barrier(len(containers))
    outcomes: list[str] = []
    lock = threading.Lock()

    def deliver(container: DynamoDBAnswerOnce) -> None:
        start.wait(10)
        outcome = container.run("slash:t1", answer, LambdaContext(60_000))
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=deliver, args=(container,)) for container in containers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)

    assert sorted(outcomes) == ["answered"] + [DUPLICATE] * 7
    assert answer.calls == 1


# --- the DynamoDB record itself --------------------------------------------------------------


def test_record_is_keyed_on_the_job_and_expires_as_configured(idempotency_table: Table) -> None:
    once = DynamoDBAnswerOnce(idempotency_table.name, expiry_seconds=900)
    before = int(time.time())

    once.run("slash:t1", Answers())

    [record] = idempotency_table.items()
    assert record["id"].startswith(f"{KEY_PREFIX}#") and "slash:t1" not in record["id"]
    assert record["status"] == "COMPLETED"
    assert before + 900 <= record["expiration"] <= int(time.time()) + 900


def test_in_progress_claim_lasts_as_long_as_the_invocation_may(idempotency_table: Table) -> None:
    once = DynamoDBAnswerOnce(idempotency_table.name, 3600)
    seen: list[dict[str, Any]] = []

    def look() -> str:
        seen.extend(idempotency_table.items())
        return "answered"

    before_ms = int(time.time() * 1000)
    once.run("slash:t1", look, LambdaContext(42_000))

    [record] = seen
    assert record["status"] == "INPROGRESS"
    assert before_ms + 42_000 <= record["in_progress_expiration"] <= int(time.time() * 1000) + 42_000


def test_an_expired_record_no_longer_blocks(idempotency_table: Table) -> None:
    once, answer = DynamoDBAnswerOnce(idempotency_table.name, 3600), Answers()
    once.run("slash:t1", answer)
    [record] = idempotency_table.items()

    idempotency_table.update(record["id"], expiration=int(time.time()) - 1)  # an hour later

    assert once.run("slash:t1", answer) == "answered"
    assert answer.calls == 2


def test_a_killed_invocation_blocks_retries_only_until_its_time_was_up(idempotency_table: Table) -> None:
    once, answer = DynamoDBAnswerOnce(idempotency_table.name, 3600), Answers()

    def killed() -> str:
        raise Killed()

    with pytest.raises(Killed):
        once.run("slash:alive", killed, LambdaContext(60_000))
    with pytest.raises(Killed):
        once.run("slash:timed-out", killed, LambdaContext(0))

    assert {item["status"] for item in idempotency_table.items()} == {"INPROGRESS"}
    assert once.run("slash:alive", answer) == DUPLICATE  # it may still be running: leave it
    assert once.run("slash:timed-out", answer) == "answered"  # Lambda ended it: the retry answers
    assert answer.calls == 1


def test_a_failed_answer_leaves_no_record(idempotency_table: Table) -> None:
    once = DynamoDBAnswerOnce(idempotency_table.name, 3600)

    def post_fails() -> str:
        assert [item["status"] for item in idempotency_table.items()] == ["INPROGRESS"]
        raise RuntimeError("slack down")

    with pytest.raises(RuntimeError):
        once.run("slash:t1", post_fails)

    assert idempotency_table.items() == []


def test_the_record_key_is_the_one_earlier_releases_wrote(idempotency_table: Table) -> None:
    """Powertools 3.37 wrote this key for this job: a deploy that changed it would answer again
    every job still being retried across the switch."""
    DynamoDBAnswerOnce(idempotency_table.name, 3600).run("slash:t1", Answers())

    expected = "whoknows-job#debcc7e24a53bb014f3d0c181e7e5715db5faef0b6c5166a6ef53e52910def82"
    assert record_key("slash:t1") == expected
    assert [record["id"] for record in idempotency_table.items()] == [expected]


def test_an_answer_that_cannot_be_recorded_is_still_an_answer(
    idempotency_table: Table, json_logs: Any
) -> None:
    """Posted already: raising would make Lambda retry and post again. The INPROGRESS record keeps
    blocking others until its lease ends."""
    once = DynamoDBAnswerOnce(idempotency_table.name, 3600)

    def answer_then_lose_the_table() -> str:
        idempotency_table.client.delete_table(TableName=idempotency_table.name)
        return "answered"

    assert once.run("slash:t1", answer_then_lose_the_table) == "answered"
    [logged] = json_logs.events("idempotency_record_not_completed")
    assert logged["job_id"] == "slash:t1" and "ResourceNotFoundException" in logged["error"]


def test_a_claim_that_cannot_be_dropped_is_logged_and_the_failure_still_raised(
    idempotency_table: Table, json_logs: Any
) -> None:
    once = DynamoDBAnswerOnce(idempotency_table.name, 3600)

    def lose_the_table_then_fail() -> str:
        idempotency_table.client.delete_table(TableName=idempotency_table.name)
        raise RuntimeError("slack down")

    with pytest.raises(RuntimeError, match="slack down"):
        once.run("slash:t1", lose_the_table_then_fail)
    [logged] = json_logs.events("idempotency_record_not_deleted")
    assert logged["job_id"] == "slash:t1" and "ResourceNotFoundException" in logged["error"]


def test_an_unusable_table_is_reported_before_answering(idempotency_table: Table) -> None:
    once, answer = DynamoDBAnswerOnce(f"{idempotency_table.name}-missing", 3600), Answers()

    with pytest.raises(LedgerUnavailable, match="-missing"):
        once.run("slash:t1", answer)

    assert answer.calls == 0


# --- settings ------------------------------------------------------------------------------


def test_without_a_table_the_guard_is_per_container() -> None:
    settings = parse_settings(MINIMAL)

    assert settings.idempotency_table is None
    assert settings.idempotency_expiry_seconds == 3600
    assert isinstance(answer_once_from_settings(settings), InMemoryAnswerOnce)


def test_with_a_table_the_guard_is_dynamodb(idempotency_table: Table) -> None:
    settings = parse_settings(
        {**MINIMAL, "IDEMPOTENCY_TABLE": idempotency_table.name, "IDEMPOTENCY_EXPIRY_SECONDS": "120"}
    )

    once = answer_once_from_settings(settings)

    assert isinstance(once, DynamoDBAnswerOnce)
    assert (once.table_name, once.expiry_seconds) == (idempotency_table.name, 120)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("IDEMPOTENCY_TABLE", "no spaces allowed", "IDEMPOTENCY_TABLE must be a DynamoDB table name"),
        ("IDEMPOTENCY_TABLE", "ab", "IDEMPOTENCY_TABLE must be a DynamoDB table name"),
        ("IDEMPOTENCY_EXPIRY_SECONDS", "an hour", "IDEMPOTENCY_EXPIRY_SECONDS must be a whole number"),
        ("IDEMPOTENCY_EXPIRY_SECONDS", "0", "IDEMPOTENCY_EXPIRY_SECONDS must be a whole number"),
        ("IDEMPOTENCY_EXPIRY_SECONDS", "1.5", "IDEMPOTENCY_EXPIRY_SECONDS must be a whole number"),
    ],
)
def test_bad_idempotency_settings_are_named(variable: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings({**MINIMAL, variable: value})

    assert any(problem.startswith(message) and repr(value) in problem for problem in caught.value.problems)


def test_the_api_function_never_loads_botocore(tmp_path: Any) -> None:
    """The shared table is the worker's: the 3-second ack path stays on in-memory filtering."""
    code = """
import os, sys, time
os.environ.update(
    SLACK_SIGNING_SECRET="secret", SLACK_BOT_TOKEN="xoxb-x", MODEL_URI=sys.argv[1], DISPATCH_MODE="lambda",
    WORKER_FUNCTION_NAME="whoknows-dev-worker", IDEMPOTENCY_TABLE="whoknows-dev-idempotency",
)
import app
from chalicelib.api import routes, runtime as api_runtime
from chalicelib.slack.verify import sign_request
from tests.support.serving import RecordingDispatcher, event_body

recorder = RecordingDispatcher()
api_runtime.reset(dispatcher=recorder)
mention = {"type": "app_mention", "user": "U1", "text": "<@UBOT0001> who?", "channel": "C1", "ts": "1.1"}
body = event_body(mention)
headers = {"Content-Type": "application/json", **sign_request("secret", body, int(time.time()))}
for _ in range(2):
    assert routes.events(body, headers).status == 200
assert len(recorder.jobs) == 1, recorder.jobs
aws = {"aws_lambda_powertools", "boto3", "botocore"}
print(",".join(sorted({m.split(".")[0] for m in sys.modules} & aws)))
"""
    repo = Path(__file__).resolve().parents[3]
    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], cwd=repo, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
