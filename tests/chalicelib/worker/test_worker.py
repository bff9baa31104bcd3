"""The worker end to end: a real ONNX model from the moto S3 server, answers posted to the Slack
stand-in with slack_sdk's real clients, and every failure told to the user in a sentence; feedback
clicks confirmed to the user through the click's response_url, without a model."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.api import runtime as api_runtime
from chalicelib.config import parse_settings, reset_settings
from chalicelib.jobs import Job
from chalicelib.logs import Timings
from chalicelib.slack.render import FEEDBACK_RIGHT, FEEDBACK_WRONG
from chalicelib.worker import handler
from chalicelib.worker.handler import run_job
from chalicelib.worker.idempotency import DynamoDBAnswerOnce
from chalicelib.worker.worker import CORRUPT_MODEL, NO_MODEL, DeliveryFailed, Worker
from export.publish import publish
from export.sample import SAMPLE_TEAMS
from tests.support.dynamodb import Table
from tests.support.interactions import click_body
from tests.support.serving import (
    BOT_TOKEN,
    apply_env,
    base_env,
    broken_variant,
    model_variant,
    signed,
    slash_body,
)
from tests.support.slack_standin import Fault, SlackStandIn

PREFIX = "models"


@pytest.fixture
def worker_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, s3_bucket: Any, slack_standin: SlackStandIn
) -> dict[str, Any]:
    client, bucket = s3_bucket
    env = base_env(
        tmp_path,
        MODEL_URI=f"s3://{bucket}/{PREFIX}",
        MODEL_REFRESH_SECONDS="0",
        TEAM_DIRECTORY=str(SAMPLE_TEAMS),
        RESPONSE_URL_EXTRA_HOSTS=slack_standin.host,
        SLACK_API_BASE_URL=slack_standin.api_url,
    )
    apply_env(monkeypatch, env)
    yield {"client": client, "bucket": bucket, "slack": slack_standin, "dest": f"s3://{bucket}/{PREFIX}"}
    api_runtime.reset()
    handler.reset_worker()


def _slash_job(
    slack: SlackStandIn, question: str = "refund stuck in pending after checkout", n: int = 1
) -> dict[str, Any]:
    return Job.for_slash_command(
        question=question,
        user_id="U1",
        response_url=slack.response_url(f"cmd-{n}"),
        trigger_id=f"trigger-{n}",
        request_id="api-request-1",
    ).to_dict()


def _publish(env: dict[str, Any], folder: Path) -> None:
    """Forced: these versions are copies of one model (or broken ones), which the gate cannot judge."""
    publish(folder, env["dest"], env["client"], force=True)


def test_slash_answer_lists_the_top_three_teams_with_where_to_reach_them(
    worker_env: dict[str, Any], sample_model_dir: Path, json_logs: Any
) -> None:
    _publish(worker_env, sample_model_dir)
    slack: SlackStandIn = worker_env["slack"]

    result = run_job(_slash_job(slack), request_id="worker-request-1")

    assert result == {"outcome": "answered", "job_id": "slash:trigger-1"}
    [post] = slack.wait_for(1)
    assert post.path == "/response/cmd-1"
    body = post.body
    assert body["response_type"] == "ephemeral"
    headline = body["blocks"][0]["text"]["text"]
    context = [e["text"] for b in body["blocks"] if b["type"] == "context" for e in b["elements"]]
    also = next(text for text in context if text.startswith("Also possible"))
    assert headline.startswith("*Payments* can most likely help") and "#payments-help" in headline
    assert "Because of: _" in headline  # the question's own words behind the answer
    assert also.startswith("Also possible: ") and also.count("%") == 2  # the next two teams
    [done] = json_logs.events("job_done")
    assert done["request_id"] == "worker-request-1"
    assert done["origin_request_id"] == "api-request-1"
    assert done["model_version"] and done["top_label"] == "PAYMENTS" and done["answer"] == "confident"
    for phase in ("model_wait_ms", "predict_ms", "post_ms"):  # waited for the load begun at start
        assert done[phase] >= 0
    assert slack.base_url not in json_logs.text()


def test_low_confidence_is_answered_honestly(
    worker_env: dict[str, Any], sample_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONFIDENCE_THRESHOLD", "0.999")
    api_runtime.reset()
    handler.reset_worker()
    _publish(worker_env, sample_model_dir)

    run_job(_slash_job(worker_env["slack"], "the thing is broken"))

    [post] = worker_env["slack"].wait_for(1)
    assert "I'm not sure" in post.body["text"]


def _with_threshold(source: Path, dest: Path, threshold: float) -> Path:
    """The trained model as a new version whose manifest records `threshold` as its own."""
    folder = model_variant(source, dest, f"threshold-{threshold}")
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["confidence_threshold"] = {**manifest["confidence_threshold"], "value": threshold}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


@pytest.mark.parametrize(
    ("setting", "model_threshold", "sure"),
    [(None, 0.999, False), (None, 0.05, True), ("0.05", 0.999, True), ("0.999", 0.05, False)],
    ids=["model strict", "model lenient", "setting overrides strict model", "setting overrides lenient"],
)
def test_the_threshold_is_the_models_own_unless_the_setting_says_otherwise(
    worker_env: dict[str, Any],
    sample_model_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    setting: str | None,
    model_threshold: float,
    sure: bool,
) -> None:
    if setting is not None:
        monkeypatch.setenv("CONFIDENCE_THRESHOLD", setting)
    monkeypatch.setenv("MODEL_URI", str(_with_threshold(sample_model_dir, tmp_path / "m", model_threshold)))
    api_runtime.reset()
    handler.reset_worker()

    run_job(_slash_job(worker_env["slack"]))

    [post] = worker_env["slack"].wait_for(1)
    assert ("I'm not sure" not in post.body["text"]) is sure
    shown = float(setting) if setting is not None else model_threshold
    assert f"Confident means {shown:.0%} or more" in json.dumps(post.body["blocks"], ensure_ascii=False)


QUESTION = "the refund is stuck in pending after checkout"


def _evidence(post: Any) -> str | None:
    texts = [e["text"] for b in post.body["blocks"] if b["type"] == "context" for e in b["elements"]]
    return next((t for t in texts if "past ticket" in t), None)


def test_the_answer_shows_the_top_teams_similar_past_tickets(
    worker_env: dict[str, Any], sample_model_dir: Path, json_logs: Any
) -> None:
    _publish(worker_env, sample_model_dir)

    run_job(_slash_job(worker_env["slack"], QUESTION))

    [post] = worker_env["slack"].wait_for(1)
    evidence = _evidence(post)
    assert evidence is not None and evidence.startswith("Similar past tickets:\n• *PAY-")
    assert 1 <= evidence.count("\n• ") <= 3
    assert json_logs.events("job_done")[0]["similar_tickets"] >= 1


@pytest.mark.parametrize(
    ("setting", "value"),
    [("SHOW_SIMILAR_TICKETS", "false"), ("JIRA_BASE_URL", "https://acme.atlassian.net/")],
)
def test_evidence_can_be_turned_off_and_linked_to_jira(
    worker_env: dict[str, Any],
    sample_model_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    setting: str,
    value: str,
) -> None:
    monkeypatch.setenv(setting, value)
    api_runtime.reset()
    handler.reset_worker()
    _publish(worker_env, sample_model_dir)

    run_job(_slash_job(worker_env["slack"], QUESTION))

    evidence = _evidence(worker_env["slack"].wait_for(1)[0])
    if setting == "SHOW_SIMILAR_TICKETS":
        assert evidence is None
    else:
        assert evidence is not None and "<https://acme.atlassian.net/browse/PAY-" in evidence


def test_a_model_without_an_index_shows_no_evidence(
    worker_env: dict[str, Any], sample_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = model_variant(sample_model_dir, tmp_path / "no-index", "no-index")
    manifest = json.loads((folder / "manifest.json").read_text())
    del manifest["ticket_index"]
    (folder / "manifest.json").write_text(json.dumps(manifest))
    monkeypatch.setenv("MODEL_URI", str(folder))
    api_runtime.reset()
    handler.reset_worker()

    run_job(_slash_job(worker_env["slack"], QUESTION))

    [post] = worker_env["slack"].wait_for(1)
    assert post.body["text"].startswith("Payments") and _evidence(post) is None


@pytest.mark.parametrize("question", ["zzqx qqzx", "who knows?", "🔥🔥"])
def test_a_question_of_words_the_model_never_saw_is_told_so(
    worker_env: dict[str, Any], sample_model_dir: Path, json_logs: Any, question: str
) -> None:
    _publish(worker_env, sample_model_dir)

    assert run_job(_slash_job(worker_env["slack"], question))["outcome"] == "answered"

    [post] = worker_env["slack"].wait_for(1)
    assert post.body["text"].startswith("I don't know any of these words from our tickets")
    assert json_logs.events("job_done")[0]["answer"] == "unknown_words"


def test_event_answer_goes_into_the_thread_with_the_bot_token(
    worker_env: dict[str, Any], sample_model_dir: Path
) -> None:
    _publish(worker_env, sample_model_dir)
    job = Job.for_message(
        question="who can help with the nightly export to the warehouse?",
        user_id="U1",
        channel="C0001",
        ts="1700.1",
        thread_ts="1700.1",
        team_id="T1",
    )

    assert run_job(job.to_dict())["outcome"] == "answered"

    [post] = worker_env["slack"].wait_for(1)
    assert post.path == "/api/chat.postMessage"
    assert post.headers["Authorization"] == f"Bearer {BOT_TOKEN}"
    assert (post.body["channel"], post.body["thread_ts"]) == ("C0001", "1700.1")
    assert "Data" in post.body["text"] and "#data-help" in post.body["text"]
    assert "subteam" not in json.dumps(post.body)  # a thread reply must not notify the team's group


def test_no_published_model_is_told_to_the_user(worker_env: dict[str, Any], json_logs: Any) -> None:
    result = run_job(_slash_job(worker_env["slack"]), request_id="worker-request-2")

    assert result["outcome"] == "failed_answered"
    [post] = worker_env["slack"].wait_for(1)
    assert NO_MODEL in post.body["text"]
    [logged] = json_logs.events("model_unavailable")
    assert logged["request_id"] == "worker-request-2" and "ModelNotFound" in logged["error"]


def test_corrupt_model_is_refused_and_told_to_the_user(
    worker_env: dict[str, Any], sample_model_dir: Path, json_logs: Any
) -> None:
    _publish(worker_env, sample_model_dir)
    pointer = json.loads(
        worker_env["client"]
        .get_object(Bucket=worker_env["bucket"], Key=f"{PREFIX}/manifest.json")["Body"]
        .read()
    )
    worker_env["client"].put_object(
        Bucket=worker_env["bucket"],
        Key=f"{PREFIX}/{pointer['model_path']}",
        Body=b"x" * pointer["size_bytes"],
    )

    run_job(_slash_job(worker_env["slack"]))

    [post] = worker_env["slack"].wait_for(1)
    assert CORRUPT_MODEL in post.body["text"]
    assert "ModelCorrupt" in json_logs.events("model_unavailable")[0]["error"]


def test_a_slack_500_is_retried_into_one_answer(worker_env: dict[str, Any], sample_model_dir: Path) -> None:
    _publish(worker_env, sample_model_dir)
    slack: SlackStandIn = worker_env["slack"]
    slack.fail_next(Fault.SERVER_ERROR)

    assert run_job(_slash_job(slack))["outcome"] == "answered"

    assert len(slack.wait_for(1)) == 1
    assert [r.fault for r in slack.received] == [Fault.SERVER_ERROR, None]


def test_slack_down_raises_for_a_retry_that_then_answers_once(
    worker_env: dict[str, Any], sample_model_dir: Path, json_logs: Any
) -> None:
    _publish(worker_env, sample_model_dir)
    slack: SlackStandIn = worker_env["slack"]
    slack.fail_next(Fault.SERVER_ERROR, Fault.SERVER_ERROR, Fault.SERVER_ERROR)
    payload = _slash_job(slack)

    with pytest.raises(DeliveryFailed):
        run_job(payload)
    assert json_logs.events("job_post_failed")
    assert run_job(payload)["outcome"] == "answered"  # Lambda's async retry
    assert run_job(payload)["outcome"] == "duplicate"  # a second delivery of the same job

    assert len(slack.accepted) == 1


def test_forged_response_url_is_never_posted_to(worker_env: dict[str, Any], sample_model_dir: Path) -> None:
    _publish(worker_env, sample_model_dir)
    payload = _slash_job(worker_env["slack"])
    payload["response_url"] = "https://attacker.example/collect"

    with pytest.raises(DeliveryFailed, match="not allowed"):
        run_job(payload)


def test_new_model_is_picked_up_and_a_bad_one_is_not(
    worker_env: dict[str, Any], sample_model_dir: Path, tmp_path: Path, json_logs: Any
) -> None:
    slack: SlackStandIn = worker_env["slack"]
    _publish(worker_env, model_variant(sample_model_dir, tmp_path / "v1", "v1"))
    run_job(_slash_job(slack, n=1))
    _publish(worker_env, model_variant(sample_model_dir, tmp_path / "v2", "v2"))
    run_job(_slash_job(slack, n=2))
    _publish(worker_env, broken_variant(sample_model_dir, tmp_path / "v3", "v3"))
    run_job(_slash_job(slack, n=3))

    assert [line["model_version"] for line in json_logs.events("job_done")] == ["v1", "v2", "v2"]
    assert len(slack.wait_for(3)) == 3
    assert json_logs.events("model_refresh_failed")[0]["wanted_version"] == "v3"


def test_team_directory_mismatches_are_warnings(
    worker_env: dict[str, Any],
    sample_model_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    json_logs: Any,
) -> None:
    directory = tmp_path / "teams.json"
    directory.write_text(json.dumps({"teams": {"PAYMENTS": {"display_name": "Payments"}, "OLDTEAM": {}}}))
    monkeypatch.setenv("TEAM_DIRECTORY", str(directory))
    api_runtime.reset()
    handler.reset_worker()
    _publish(worker_env, sample_model_dir)

    assert run_job(_slash_job(worker_env["slack"]))["outcome"] == "answered"

    problems = " ".join(line["problem"] for line in json_logs.events("team_directory_mismatch"))
    assert "OLDTEAM" in problems and "'SEARCH'" in problems


def test_invalid_job_payload_is_logged_not_raised(worker_env: dict[str, Any], json_logs: Any) -> None:
    assert run_job({"format": 1, "kind": "slash"})["outcome"] == "invalid"
    assert json_logs.events("job_invalid")


def test_slash_command_to_answer_through_chalice_in_local_mode(
    worker_env: dict[str, Any], sample_model_dir: Path
) -> None:
    from app import app

    _publish(worker_env, sample_model_dir)
    slack: SlackStandIn = worker_env["slack"]
    body = slash_body("why is my refund stuck in pending?", response_url=slack.response_url("e2e"))

    with Client(app) as client:
        started = time.perf_counter()
        ack = client.http.post(
            "/slack/commands", headers=signed(body, "application/x-www-form-urlencoded"), body=body
        )
        ack_seconds = time.perf_counter() - started
        [post] = slack.wait_for(1, timeout=20)
        api_runtime.get_runtime().dispatcher.join()  # the job logs after posting: not into the next test

    assert ack.status_code == 200
    assert "Looking for who knows" in json.loads(ack.body)["text"]
    assert ack_seconds < 1.0
    assert "Payments" in post.body["text"]


def test_worker_lambda_function_through_chalice(worker_env: dict[str, Any], sample_model_dir: Path) -> None:
    from app import app

    _publish(worker_env, sample_model_dir)
    with Client(app) as client:
        result = client.lambda_.invoke("worker", _slash_job(worker_env["slack"]))

    assert result.payload == {"outcome": "answered", "job_id": "slash:trigger-1"}
    assert len(worker_env["slack"].wait_for(1)) == 1


# --- each job answered once, across containers (IDEMPOTENCY_TABLE on the moto DynamoDB) -------


@pytest.fixture
def shared_table(
    worker_env: dict[str, Any], idempotency_table: Table, monkeypatch: pytest.MonkeyPatch
) -> Table:
    monkeypatch.setenv("IDEMPOTENCY_TABLE", idempotency_table.name)
    api_runtime.reset()
    handler.reset_worker()
    return idempotency_table


def _container() -> Worker:
    """A worker as a fresh container builds it: its own settings, model holder, memory and boto3
    session."""
    return Worker.from_settings(parse_settings(os.environ))


def _event_job(ts: str = "1700.1") -> Job:
    return Job.for_message(
        question="who can help with the nightly export to the warehouse?",
        user_id="U1",
        channel="C0001",
        ts=ts,
        thread_ts=ts,
        team_id="T1",
    )


class _GatedHolder:
    """The real model holder, held at the door until the test lets it through: the first
    invocation is then provably in progress while the second one arrives."""

    def __init__(self, holder: Any) -> None:
        self._holder = holder
        self.entered = threading.Event()
        self.release = threading.Event()

    def get(self, timings: Any) -> Any:
        self.entered.set()
        assert self.release.wait(20)
        return self._holder.get(timings)


def test_worker_invoked_twice_for_one_job_answers_once(
    worker_env: dict[str, Any], shared_table: Table, sample_model_dir: Path
) -> None:
    _publish(worker_env, sample_model_dir)
    slack: SlackStandIn = worker_env["slack"]
    payload = _event_job().to_dict()

    outcomes = [run_job(payload)["outcome"], run_job(payload)["outcome"]]
    handler.reset_worker()  # the next invocation lands in a fresh container
    outcomes.append(run_job(payload)["outcome"])

    assert outcomes == ["answered", "duplicate", "duplicate"]
    [post] = slack.wait_for(1)
    assert post.path == "/api/chat.postMessage"
    assert len(slack.received) == 1
    assert [item["status"] for item in shared_table.items()] == ["COMPLETED"]


def test_two_containers_with_the_table_answer_once_and_without_it_twice(
    worker_env: dict[str, Any],
    idempotency_table: Table,
    sample_model_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _publish(worker_env, sample_model_dir)
    slack: SlackStandIn = worker_env["slack"]

    per_container = [_container().handle(_event_job("1700.1")) for _ in range(2)]
    monkeypatch.setenv("IDEMPOTENCY_TABLE", idempotency_table.name)
    reset_settings()
    shared = [_container().handle(_event_job("1700.2")) for _ in range(2)]

    assert per_container == ["answered", "answered"]  # what the table is there to prevent
    assert shared == ["answered", "duplicate"]
    posts = slack.wait_for(3)
    assert sorted(post.body["thread_ts"] for post in posts) == ["1700.1", "1700.1", "1700.2"]


def test_a_job_in_progress_in_another_container_is_a_duplicate(
    worker_env: dict[str, Any], shared_table: Table, sample_model_dir: Path, json_logs: Any
) -> None:
    _publish(worker_env, sample_model_dir)
    slack: SlackStandIn = worker_env["slack"]
    first, second = _container(), _container()
    first.holder.get(Timings())  # warm: jobs now ask the holder, inside the claimed answer
    gate = first.holder = _GatedHolder(first.holder)
    outcomes: list[str] = []
    thread = threading.Thread(target=lambda: outcomes.append(first.handle(_event_job())))
    thread.start()
    try:
        assert gate.entered.wait(20)
        assert second.handle(_event_job()) == "duplicate"  # returns at once, posts nothing, no raise
        assert slack.received == []
    finally:
        gate.release.set()
        thread.join(20)

    assert outcomes == ["answered"]
    assert len(slack.wait_for(1)) == 1 and len(slack.received) == 1
    assert [line["job_id"] for line in json_logs.events("job_duplicate")] == ["message:T1:C0001:1700.1"]


def test_failed_delivery_leaves_no_claim_and_a_retry_elsewhere_answers_once(
    worker_env: dict[str, Any], shared_table: Table, sample_model_dir: Path
) -> None:
    _publish(worker_env, sample_model_dir)
    slack: SlackStandIn = worker_env["slack"]
    slack.fail_next(Fault.SERVER_ERROR, Fault.SERVER_ERROR, Fault.SERVER_ERROR)  # slack_sdk's retries too
    payload = _slash_job(slack)

    with pytest.raises(DeliveryFailed):
        run_job(payload)
    assert shared_table.items() == []  # Powertools deleted the in-progress record
    handler.reset_worker()  # Lambda's retry, in another container
    assert run_job(payload)["outcome"] == "answered"
    handler.reset_worker()
    assert run_job(payload)["outcome"] == "duplicate"

    assert len(slack.wait_for(1)) == 1
    assert [request.fault for request in slack.received] == [Fault.SERVER_ERROR] * 3 + [None]


def test_failed_answered_is_recorded_as_done(
    worker_env: dict[str, Any], shared_table: Table, json_logs: Any
) -> None:
    payload = _slash_job(worker_env["slack"])  # no model published: the user is told so

    assert run_job(payload)["outcome"] == "failed_answered"
    handler.reset_worker()
    assert run_job(payload)["outcome"] == "duplicate"

    assert len(worker_env["slack"].wait_for(1)) == 1
    assert [item["status"] for item in shared_table.items()] == ["COMPLETED"]


def test_an_unreachable_table_is_retried_not_answered_twice(
    worker_env: dict[str, Any], sample_model_dir: Path, monkeypatch: pytest.MonkeyPatch, json_logs: Any
) -> None:
    _publish(worker_env, sample_model_dir)
    monkeypatch.setenv("IDEMPOTENCY_TABLE", "whoknows-test-no-such-table")
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", worker_env["client"].meta.endpoint_url)
    handler.reset_worker()
    reset_settings()

    with pytest.raises(DeliveryFailed, match="no-such-table"):
        run_job(_slash_job(worker_env["slack"]))

    assert worker_env["slack"].received == []
    assert json_logs.events("idempotency_unavailable")


# --- feedback clicks confirmed to the user -----------------------------------------------------

THANKS = {
    "right": "Thanks — noted that Payments was the right team.",
    "wrong": "Thanks — noted that Payments was not the right team; the people who run whoknows will see it.",
}


def _feedback_job(slack: SlackStandIn, verdict: str = "right", n: int = 1) -> dict[str, Any]:
    return Job.for_feedback(
        verdict=verdict,  # type: ignore[arg-type]
        question_id="slash:trigger-1",
        suggested_team="PAYMENTS",
        user_id="U1",
        response_url=slack.response_url(f"click-{n}"),
        trigger_id=f"click.{n}",
        team_id="T1",
        request_id="api-request-9",
    ).to_dict()


@pytest.mark.parametrize("verdict", ["right", "wrong"])
def test_a_feedback_click_is_confirmed_ephemerally_and_the_answer_stays(
    worker_env: dict[str, Any], json_logs: Any, verdict: str
) -> None:
    slack: SlackStandIn = worker_env["slack"]  # no model published: a confirmation needs none

    result = run_job(_feedback_job(slack, verdict), request_id="worker-request-9")

    assert result == {"outcome": "answered", "job_id": "feedback:click.1"}
    [post] = slack.wait_for(1)
    assert post.path == "/response/click-1" and len(slack.received) == 1
    assert post.body["response_type"] == "ephemeral"
    assert post.body["replace_original"] is False
    assert post.body["text"] == THANKS[verdict]
    assert THANKS[verdict] in json.dumps(post.body["blocks"], ensure_ascii=False)
    [done] = json_logs.events("job_done")
    assert (done["kind"], done["outcome"], done["verdict"]) == ("feedback", "answered", verdict)
    assert (done["question_id"], done["suggested_team"]) == ("slash:trigger-1", "PAYMENTS")
    assert done["origin_request_id"] == "api-request-9" and done["request_id"] == "worker-request-9"
    assert done["post_ms"] >= 0 and "model_load_ms" not in done
    assert json_logs.events("model_unavailable") == []
    assert slack.base_url not in json_logs.text()


def test_a_feedback_job_with_an_unknown_verdict_posts_nothing(
    worker_env: dict[str, Any], json_logs: Any
) -> None:
    slack: SlackStandIn = worker_env["slack"]
    payload = {**_feedback_job(slack), "verdict": "maybe"}

    assert run_job(payload)["outcome"] == "invalid"

    assert "verdict" in json_logs.events("job_invalid")[0]["error"]
    assert slack.received == []


def test_a_feedback_confirmation_to_a_forbidden_host_is_refused(
    worker_env: dict[str, Any], json_logs: Any
) -> None:
    payload = {**_feedback_job(worker_env["slack"]), "response_url": "https://attacker.example/collect"}

    with pytest.raises(DeliveryFailed, match="not allowed"):
        run_job(payload)

    assert worker_env["slack"].received == []
    [failed] = json_logs.events("job_post_failed")
    assert failed["kind"] == "feedback" and "post_ms" in failed
    assert "attacker.example/collect" not in json_logs.text()


def test_a_duplicate_feedback_job_confirms_once_and_a_slack_500_is_retried(
    worker_env: dict[str, Any],
) -> None:
    slack: SlackStandIn = worker_env["slack"]
    slack.fail_next(Fault.SERVER_ERROR)
    payload = _feedback_job(slack)

    outcomes = [run_job(payload)["outcome"], run_job(payload)["outcome"]]

    assert outcomes == ["answered", "duplicate"]
    assert len(slack.wait_for(1)) == 1
    assert [request.fault for request in slack.received] == [Fault.SERVER_ERROR, None]


def test_slack_down_leaves_the_feedback_job_to_lambdas_retry_which_confirms_once(
    worker_env: dict[str, Any], json_logs: Any
) -> None:
    slack: SlackStandIn = worker_env["slack"]
    slack.fail_next(Fault.SERVER_ERROR, Fault.SERVER_ERROR, Fault.SERVER_ERROR)
    payload = _feedback_job(slack)

    with pytest.raises(DeliveryFailed):
        run_job(payload)
    assert run_job(payload)["outcome"] == "answered"
    assert run_job(payload)["outcome"] == "duplicate"

    assert len(slack.wait_for(1)) == 1 and len(slack.received) == 4
    assert [line["kind"] for line in json_logs.events("job_post_failed")] == ["feedback"]


def test_a_feedback_job_in_two_containers_sharing_the_table_confirms_once(
    worker_env: dict[str, Any], shared_table: Table
) -> None:
    slack: SlackStandIn = worker_env["slack"]
    job = Job.from_dict(_feedback_job(slack))

    outcomes = [_container().handle(job), _container().handle(job)]

    assert outcomes == ["answered", "duplicate"]
    assert len(slack.wait_for(1)) == 1 and len(slack.received) == 1
    assert [item["status"] for item in shared_table.items()] == ["COMPLETED"]


@pytest.mark.parametrize(
    ("action_id", "expected"),
    [(FEEDBACK_RIGHT, THANKS["right"]), (FEEDBACK_WRONG, THANKS["wrong"]), ("open_ticket", None)],
    ids=["right", "wrong", "unknown-action"],
)
def test_a_click_through_chalice_in_local_mode_is_confirmed_by_the_worker(
    worker_env: dict[str, Any], action_id: str, expected: str | None
) -> None:
    from app import app

    slack: SlackStandIn = worker_env["slack"]
    body = click_body(action_id, response_url=slack.response_url("click-e2e"))

    with Client(app) as client:
        ack = client.http.post(
            "/slack/interactions", headers=signed(body, "application/x-www-form-urlencoded"), body=body
        )
        api_runtime.get_runtime().dispatcher.join(timeout=20)  # type: ignore[attr-defined]  # LocalDispatcher

    assert ack.status_code == 200 and json.loads(ack.body) == {"ok": True}
    if expected is None:
        assert slack.received == []
    else:
        [post] = slack.wait_for(1)
        assert post.path == "/response/click-e2e" and post.body["text"] == expected
        assert post.body["replace_original"] is False


# --- a cold container: the model loads while the job is claimed ---------------------------------


class _ClaimWatcher:
    """The worker's real AnswerOnce. At the claim it waits up to 5 s for the model to be in hand
    and notes whether it was: only a load already running beside the claim can finish there."""

    def __init__(self, worker: Worker) -> None:
        self._once, self._holder = worker.once, worker.holder
        self.seen: list[bool] = []

    def run(self, job_id: str, answer_job: Any, context: Any = None) -> str:
        deadline = time.monotonic() + 5
        while not self._holder.loaded and time.monotonic() < deadline:
            time.sleep(0.01)
        self.seen.append(self._holder.loaded)
        return self._once.run(job_id, answer_job, context)


def test_a_cold_worker_loads_the_model_while_it_claims_the_job(
    worker_env: dict[str, Any], shared_table: Table, sample_model_dir: Path, json_logs: Any
) -> None:
    _publish(worker_env, sample_model_dir)
    slack: SlackStandIn = worker_env["slack"]
    worker = _container()
    watcher = _ClaimWatcher(worker)
    worker.once = watcher

    assert worker.handle(_event_job("1700.1")) == "answered"
    assert worker.handle(_event_job("1700.2")) == "answered"

    assert watcher.seen == [True, True]
    assert len(slack.wait_for(2)) == 2
    assert len(json_logs.events("model_loaded")) == 1  # on its own thread, before the job asked


def test_a_cold_load_failure_is_told_once_and_the_next_job_retries(
    worker_env: dict[str, Any], sample_model_dir: Path, json_logs: Any
) -> None:
    slack: SlackStandIn = worker_env["slack"]
    worker = _container()

    assert worker.handle(Job.from_dict(_slash_job(slack, n=1))) == "failed_answered"
    _publish(worker_env, sample_model_dir)
    assert worker.handle(Job.from_dict(_slash_job(slack, n=2))) == "answered"

    first, second = (post.body["text"] for post in slack.wait_for(2))
    assert NO_MODEL in first and NO_MODEL not in second
    assert len(json_logs.events("model_unavailable")) == 1


def test_the_s3_and_dynamodb_clients_share_one_session(
    worker_env: dict[str, Any], shared_table: Table, monkeypatch: pytest.MonkeyPatch
) -> None:
    import botocore.session

    made: list[botocore.session.Session] = []

    class CountedSession(botocore.session.Session):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(botocore.session, "Session", CountedSession)
    worker = _container()  # an s3:// model store and a DynamoDB ledger: two clients, one session
    assert isinstance(worker.once, DynamoDBAnswerOnce)
    assert len(made) == 1
    _container()  # another container: a session of its own
    assert len(made) == 2


def test_a_later_question_does_not_inherit_a_cold_load_failure_from_before_it(
    worker_env: dict[str, Any], sample_model_dir: Path
) -> None:
    slack: SlackStandIn = worker_env["slack"]
    worker = _container()  # nothing published yet: its cold load fails

    assert worker.handle(Job.from_dict(_feedback_job(slack))) == "answered"  # needs no model
    _publish(worker_env, sample_model_dir)
    assert worker.handle(Job.from_dict(_slash_job(slack, n=2))) == "answered"
    assert NO_MODEL not in slack.wait_for(2)[-1].body["text"]


def test_a_message_that_cannot_be_composed_is_still_answered_with_a_sentence(
    worker_env: dict[str, Any], sample_model_dir: Path, monkeypatch: pytest.MonkeyPatch, json_logs: Any
) -> None:
    """A bug while composing (here: the team list's renderer failing) is the bot's, not the user's:
    they are told, once, instead of the job being retried into the dead-letter queue."""
    from chalicelib.worker import worker as worker_module

    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("renderer bug")

    monkeypatch.setattr(worker_module, "render_teams", broken)  # fault injection into our own code
    _publish(worker_env, sample_model_dir)
    slack: SlackStandIn = worker_env["slack"]
    job = Job.for_teams(word="teams", user_id="U1", response_url=slack.response_url("teams"), trigger_id="t9")

    assert run_job(job.to_dict())["outcome"] == "failed_answered"

    [post] = slack.wait_for(1)
    assert post.body["text"].startswith("Sorry, I couldn't answer that: something went wrong on my side")
    assert json_logs.events("compose_failed")[0]["error"] == "RuntimeError: renderer bug"


def test_a_feedback_click_reaching_a_misconfigured_worker_is_retried_not_dropped(
    worker_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch, json_logs: Any
) -> None:
    monkeypatch.delenv("MODEL_URI")  # one required setting missing
    handler.reset_worker()
    slack: SlackStandIn = worker_env["slack"]

    with pytest.raises(DeliveryFailed, match="feedback was not stored"):
        run_job(_feedback_job(slack))
    assert run_job(_slash_job(slack))["outcome"] == "misconfigured"  # a question is told instead

    assert len(json_logs.events("config_invalid")) == 2
