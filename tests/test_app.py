"""The Chalice routes end to end through chalice.test.Client, signed the way Slack signs.

Jobs go to a recording dispatcher (the async Lambda invoke cannot run here), so each test sees
exactly what would have been handed to the worker.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from chalicelib.slack.verify import sign_request
from tests.support.aws import fake_aws_env
from tests.support.lambda_standin import TEST_WORKER, RecordingLambdaStandIn
from tests.support.serving import (
    BOT_USER,
    RecordingDispatcher,
    apply_env,
    base_env,
    event_body,
    signed,
    slash_body,
)

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
REPO = Path(__file__).resolve().parent.parent


def post_slash(client: Any, body: bytes, headers: dict[str, str] | None = None) -> Any:
    return client.http.post("/slack/commands", headers=headers or signed(body, FORM), body=body)


def post_event(client: Any, body: bytes, headers: dict[str, str] | None = None, **extra: str) -> Any:
    return client.http.post("/slack/events", headers=headers or signed(body, JSON, **extra), body=body)


# --- slash command ---------------------------------------------------------------------------


def test_question_is_handed_over_and_acknowledged(client: Any, dispatcher: RecordingDispatcher) -> None:
    response = post_slash(client, slash_body("who owns the refund API?"))

    assert response.status_code == 200
    payload = json.loads(response.body)
    assert payload["response_type"] == "ephemeral"
    assert "who owns the refund API?" in payload["text"]
    [job] = dispatcher.jobs
    assert job.kind == "slash"
    assert job.job_id == "slash:trig.123"
    assert job.question == "who owns the refund API?"
    assert job.response_url == "https://hooks.slack.com/commands/T0001/1/abc"
    assert job.request_id


@pytest.mark.parametrize("text", ["", "   ", "help", "HELP"])
def test_empty_or_help_answers_usage_without_a_job(
    client: Any, dispatcher: RecordingDispatcher, text: str
) -> None:
    response = post_slash(client, slash_body(text))

    assert response.status_code == 200
    assert "Ask me which team can help" in json.loads(response.body)["text"]
    assert dispatcher.jobs == []


def test_ssl_check_is_answered_empty(client: Any, dispatcher: RecordingDispatcher) -> None:
    body = b"ssl_check=1&token=deprecated"

    response = post_slash(client, body)

    assert response.status_code == 200
    assert response.body == b""
    assert dispatcher.jobs == []


def _bad_signatures(body: bytes) -> dict[str, dict[str, str]]:
    now = int(time.time())
    good = sign_request("test-signing-secret-0123456789abcdef", body, now)
    return {
        "missing": {"Content-Type": FORM},
        "wrong_secret": {"Content-Type": FORM, **sign_request("another-secret", body, now)},
        "stale": {
            "Content-Type": FORM,
            **sign_request("test-signing-secret-0123456789abcdef", body, now - 600),
        },
        "tampered": {**good, "Content-Type": FORM, "X-Slack-Signature": "v0=" + "0" * 64},
        "malformed": {**good, "Content-Type": FORM, "X-Slack-Signature": "nonsense"},
    }


@pytest.mark.parametrize("case", ["missing", "wrong_secret", "stale", "tampered", "malformed"])
def test_bad_signature_is_401_and_no_job(
    client: Any, dispatcher: RecordingDispatcher, case: str, json_logs: Any
) -> None:
    body = slash_body("who owns refunds?")

    response = post_slash(client, body, _bad_signatures(body)[case])

    assert response.status_code == 401
    assert json.loads(response.body) == {"error": "invalid request signature"}
    assert dispatcher.jobs == []
    assert json_logs.events("request_refused")
    assert "test-signing-secret" not in json_logs.text()


def test_body_changed_after_signing_is_refused(client: Any, dispatcher: RecordingDispatcher) -> None:
    headers = signed(slash_body("who owns refunds?"), FORM)

    response = post_slash(client, slash_body("who owns payroll?"), headers)

    assert response.status_code == 401
    assert dispatcher.jobs == []


def test_malformed_command_gets_a_readable_ephemeral_error(
    client: Any, dispatcher: RecordingDispatcher
) -> None:
    response = post_slash(client, b"user_id=U1&text=hello")

    assert response.status_code == 200
    assert "response_url" in json.loads(response.body)["text"]
    assert dispatcher.jobs == []


def test_misconfiguration_answers_200_with_a_friendly_line(
    client: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, json_logs: Any
) -> None:
    env = base_env(tmp_path, DISPATCH_MODE="lambda", CONFIDENCE_THRESHOLD="lots")
    del env["SLACK_BOT_TOKEN"]
    apply_env(monkeypatch, env)

    response = post_slash(client, slash_body("who owns refunds?"))
    event = post_event(client, event_body({"type": "app_mention", "user": "U1", "text": "who?"}))

    assert response.status_code == 200
    assert "misconfigured" in json.loads(response.body)["text"]
    assert event.status_code == 200
    [logged, _] = json_logs.events("config_invalid")
    assert logged["level"] == "ERROR"
    problems = " ".join(logged["problems"])
    assert "WORKER_FUNCTION_NAME" in problems
    assert "CONFIDENCE_THRESHOLD" in problems
    assert "SLACK_BOT_TOKEN" in problems


def test_logs_carry_request_id_and_timings_but_no_response_url(
    client: Any, dispatcher: RecordingDispatcher, json_logs: Any
) -> None:
    post_slash(client, slash_body("who owns refunds?"))

    [line] = json_logs.events("slash_dispatched")
    assert line["request_id"]
    assert line["verify_ms"] >= 0 and line["dispatch_ms"] >= 0
    assert "hooks.slack.com/commands" not in json_logs.text()


# --- events ----------------------------------------------------------------------------------


def test_url_verification_returns_the_challenge(client: Any, dispatcher: RecordingDispatcher) -> None:
    body = json.dumps({"type": "url_verification", "challenge": "abc123", "token": "x"}).encode()

    response = post_event(client, body)

    assert response.status_code == 200
    assert json.loads(response.body) == {"challenge": "abc123"}


def test_events_need_a_valid_signature(client: Any, dispatcher: RecordingDispatcher) -> None:
    body = json.dumps({"type": "url_verification", "challenge": "abc123"}).encode()

    response = post_event(
        client, body, {"Content-Type": JSON, **sign_request("wrong", body, int(time.time()))}
    )

    assert response.status_code == 401
    assert b"abc123" not in response.body


def _mention(text: str = "<@UBOT0001> who owns the refund API?", **fields: Any) -> dict[str, Any]:
    return {
        "type": "app_mention",
        "user": "U0001",
        "text": text,
        "channel": "C0001",
        "ts": "1700.000100",
        **fields,
    }


def test_mention_with_trigger_word_is_answered_in_thread(
    client: Any, dispatcher: RecordingDispatcher
) -> None:
    response = post_event(client, event_body(_mention()))

    assert response.status_code == 200
    [job] = dispatcher.jobs
    assert job.kind == "event"
    assert (job.channel, job.thread_ts) == ("C0001", "1700.000100")
    assert job.question == "who owns the refund API?"


def test_mention_in_a_thread_answers_in_that_thread(client: Any, dispatcher: RecordingDispatcher) -> None:
    post_event(client, event_body(_mention(thread_ts="1699.000001")))

    assert dispatcher.jobs[0].thread_ts == "1699.000001"


def test_a_retry_is_handed_over_like_any_delivery(
    client: Any, dispatcher: RecordingDispatcher, json_logs: Any
) -> None:
    """The retry may be the only delivery that reached the bot (the first timed out on the way)."""
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}

    response = post_event(client, event_body(_mention()), **retry)

    assert response.status_code == 200
    assert [job.job_id for job in dispatcher.jobs] == ["message:T0001:C0001:1700.000100"]
    [line] = json_logs.events("event_dispatched")
    assert (line["retry_num"], line["retry_reason"]) == ("1", "http_timeout")


@pytest.mark.parametrize("order", ["original_first", "retry_first"])
def test_a_retry_of_a_delivery_that_arrived_is_handed_over_once(
    client: Any, dispatcher: RecordingDispatcher, json_logs: Any, order: str
) -> None:
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_error"}
    deliveries = [{}, retry] if order == "original_first" else [retry, {}]

    statuses = [post_event(client, event_body(_mention()), **headers).status_code for headers in deliveries]

    assert statuses == [200, 200]
    assert len(dispatcher.jobs) == 1
    assert [line["reason"] for line in json_logs.events("event_ignored")] == ["duplicate_event"]


def test_duplicate_event_id_does_no_work(client: Any, dispatcher: RecordingDispatcher) -> None:
    first = post_event(client, event_body(_mention()))
    second = post_event(client, event_body(_mention()))

    assert (first.status_code, second.status_code) == (200, 200)
    assert len(dispatcher.jobs) == 1


def test_mention_also_delivered_as_message_is_answered_once(
    client: Any, dispatcher: RecordingDispatcher
) -> None:
    mention = _mention(channel="D0001")
    message = {**mention, "type": "message", "channel_type": "im"}

    post_event(client, event_body(mention, event_id="Ev1"))
    post_event(client, event_body(message, event_id="Ev2"))

    assert len(dispatcher.jobs) == 1


@pytest.mark.parametrize(
    "event",
    [
        {
            "type": "message",
            "channel_type": "im",
            "bot_id": "B1",
            "text": "who knows?",
            "channel": "D1",
            "ts": "1.1",
        },
        {"type": "message", "subtype": "bot_message", "text": "who knows?", "channel": "D1", "ts": "1.2"},
        {
            "type": "message",
            "channel_type": "im",
            "user": BOT_USER,
            "text": "who knows?",
            "channel": "D1",
            "ts": "1.3",
        },
        {
            "type": "app_mention",
            "user": "U1",
            "bot_id": "B2",
            "text": "<@UBOT0001> who?",
            "channel": "C1",
            "ts": "1.4",
        },
    ],
    ids=["dm_from_bot", "bot_message_subtype", "own_message", "mention_by_bot"],
)
def test_bot_messages_are_ignored(
    client: Any, dispatcher: RecordingDispatcher, event: dict[str, Any]
) -> None:
    response = post_event(client, event_body(event))

    assert response.status_code == 200
    assert dispatcher.jobs == []


@pytest.mark.parametrize(
    ("text", "answered"),
    [
        ("who knows about the nightly export?", True),
        ("WHO handles refunds", True),
        ("Who's on call for search?", True),
        ("whoever broke the build, thanks", False),
        ("how do refunds work?", False),
    ],
)
def test_dm_is_answered_only_with_the_trigger_word(
    client: Any, dispatcher: RecordingDispatcher, text: str, answered: bool
) -> None:
    event = {
        "type": "message",
        "channel_type": "im",
        "user": "U0001",
        "text": text,
        "channel": "D0001",
        "ts": "5.5",
    }

    response = post_event(client, event_body(event))

    assert response.status_code == 200
    assert len(dispatcher.jobs) == (1 if answered else 0)


def test_channel_messages_and_other_envelopes_get_2xx_without_work(
    client: Any, dispatcher: RecordingDispatcher
) -> None:
    channel_message = {
        "type": "message",
        "channel_type": "channel",
        "user": "U1",
        "text": "who?",
        "channel": "C1",
        "ts": "2.2",
    }
    rate_limited = json.dumps({"type": "app_rate_limited", "team_id": "T1"}).encode()

    responses = [post_event(client, event_body(channel_message)), post_event(client, rate_limited)]

    assert [r.status_code for r in responses] == [200, 200]
    assert dispatcher.jobs == []


# --- handover and import weight ---------------------------------------------------------------


def _fresh_python(code: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Runs `code` in a new interpreter from the repo root; `env` replaces the environment (PATH kept)."""
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env=None if env is None else {"PATH": os.environ["PATH"], **env},
    )


def test_importing_the_api_app_loads_no_numpy_or_onnxruntime() -> None:
    code = (
        "import sys, app\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('numpy', 'onnxruntime'))\n"
        "print(','.join(heavy))\n"
    )
    result = _fresh_python(code)
    assert result.stdout.strip() == ""


def test_the_api_function_checks_a_response_url_without_the_posting_module(tmp_path: Path) -> None:
    """chalicelib.slack.post (retry handlers, the TLS context) is the worker's; the ack path uses
    chalicelib.slack.urls."""
    code = (
        "import sys\n"
        "from chalicelib.api import routes\n"
        "from tests.support.serving import signed, slash_body\n"
        "body = slash_body('who?', response_url='https://evil.example/x')\n"
        "reply = routes.slash_command(body, signed(body, 'application/x-www-form-urlencoded'))\n"
        "clients = sorted(m for m in sys.modules if m in ('chalicelib.slack.post', 'chalicelib.slack.tls'))\n"
        "print(reply.status, 'response_url' in reply.body['text'], clients)\n"
    )
    env = {**base_env(tmp_path, DISPATCH_MODE="lambda"), "WORKER_FUNCTION_NAME": "whoknows-dev-worker"}
    result = _fresh_python(code, env)
    assert result.stdout.split() == ["200", "True", "[]"]


_IMPORT_APP = (
    "import sys, app\n"
    "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('numpy', 'onnxruntime'))\n"
    "worker_side = 'chalicelib.worker.handler' in sys.modules\n"
    "from chalicelib.worker.handler import get_worker\n"
    "loaded = worker_side and get_worker().holder.loaded\n"
    "print(','.join(heavy), loaded, 'chalicelib.api.routes' in sys.modules, sep='|')\n"
)


def _import_app_as(function_name: str, env: dict[str, str]) -> tuple[str, str]:
    """Imports app in a fresh interpreter as Lambda would for `function_name`: (stdout, stderr)."""
    result = _fresh_python(
        _IMPORT_APP,
        {**env, "AWS_LAMBDA_FUNCTION_NAME": function_name, "WORKER_FUNCTION_NAME": "whoknows-dev-worker"},
    )
    return result.stdout.strip(), result.stderr


def test_on_lambda_the_api_function_does_not_warm_the_worker(tmp_path: Path, sample_model_dir: Path) -> None:
    stdout, _ = _import_app_as("whoknows-dev", base_env(tmp_path, MODEL_URI=str(sample_model_dir)))
    assert stdout == "|False|True"  # no numpy, no onnxruntime, no worker; the routes


def test_the_worker_function_loads_its_model_in_the_init_phase(
    tmp_path: Path, sample_model_dir: Path
) -> None:
    stdout, stderr = _import_app_as(
        "whoknows-dev-worker", base_env(tmp_path, MODEL_URI=str(sample_model_dir))
    )
    heavy, loaded, has_routes = stdout.split("|")
    assert "onnxruntime" in heavy.split(",")
    assert loaded == "True"
    assert has_routes == "False"  # it serves none
    assert '"event": "warm_up_done"' in stderr
    # Started on its thread in the init phase (ModelHolder.start_loading) and waited for: loaded once.
    assert stderr.count('"event": "model_loaded"') == 1


def test_the_worker_reads_its_bot_token_from_ssm_in_the_init_phase(
    tmp_path: Path, sample_model_dir: Path, moto_server: str
) -> None:
    aws = fake_aws_env(tmp_path / "absent", SSM=moto_server)
    ssm = boto3.session.Session().client(
        "ssm",
        endpoint_url=moto_server,
        region_name=aws["AWS_DEFAULT_REGION"],
        aws_access_key_id="t",
        aws_secret_access_key="t",
    )
    ssm.put_parameter(Name="/wk/init-bot-token", Value="xoxb-from-ssm", Type="SecureString", Overwrite=True)
    env = base_env(tmp_path, MODEL_URI=str(sample_model_dir), SLACK_BOT_TOKEN_PARAM="/wk/init-bot-token")
    del env["SLACK_BOT_TOKEN"]
    code = (
        "import app\n"
        "from chalicelib.worker.handler import get_worker\n"
        "print(get_worker().settings.bot_token.get() == 'xoxb-from-ssm')\n"  # compared, not printed
    )
    result = _fresh_python(
        code,
        {
            **aws,
            **env,
            "AWS_LAMBDA_FUNCTION_NAME": "whoknows-dev-worker",
            "WORKER_FUNCTION_NAME": "whoknows-dev-worker",
        },
    )
    assert result.stdout.strip() == "True"
    done = [json.loads(line) for line in result.stderr.splitlines() if '"warm_up_done"' in line]
    assert len(done) == 1 and "bot_token_ms" in done[0]
    assert "xoxb-from-ssm" not in result.stderr


def test_on_lambda_the_api_function_prepares_its_handover_before_the_first_request(tmp_path: Path) -> None:
    code = (
        "import sys, app\n"
        "from chalicelib.api.runtime import get_runtime\n"
        "print(get_runtime().dispatcher.connected, 'numpy' in sys.modules)\n"
    )
    env = {
        **base_env(tmp_path, DISPATCH_MODE="lambda"),
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": "whoknows-dev",
        "WORKER_FUNCTION_NAME": "whoknows-dev-worker",
    }
    result = _fresh_python(code, env)
    assert result.stdout.split() == ["True", "False"]  # the Lambda client is built, no model code loaded


def test_a_failed_api_warm_up_is_logged_and_left_to_the_first_request(tmp_path: Path) -> None:
    result = _fresh_python("import app", {"AWS_LAMBDA_FUNCTION_NAME": "whoknows-dev"})  # no settings at all
    assert '"event": "warm_up_failed"' in result.stderr
    assert "Traceback" not in result.stderr


def test_a_failed_warm_up_is_logged_and_left_to_the_first_job(tmp_path: Path) -> None:
    stdout, stderr = _import_app_as("whoknows-dev-worker", base_env(tmp_path))  # no model there
    assert stdout.endswith("|False")
    assert '"event": "warm_up_failed"' in stderr
    assert "Traceback" not in stderr


def test_lambda_mode_invokes_the_configured_worker_asynchronously(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, client: Any, recording_lambda: RecordingLambdaStandIn
) -> None:
    apply_env(monkeypatch, base_env(tmp_path, DISPATCH_MODE="lambda", WORKER_FUNCTION_NAME=TEST_WORKER))

    response = post_slash(client, slash_body("who owns refunds?"))

    assert response.status_code == 200
    [finished] = recording_lambda.wait_idle()  # an async invoke: 202 first, the function after
    assert finished.function_name == TEST_WORKER and finished.error is None
    assert recording_lambda.stats()["accepted"] == 1
    [(event, _context)] = recording_lambda.calls
    assert event["job_id"] == "slash:trig.123"


def test_the_api_function_hands_a_click_over_without_the_feedback_store_or_botocore(tmp_path: Path) -> None:
    """The worker stores feedback; the API function only parses the click and hands the job over."""
    code = (
        "import sys\n"
        "from chalicelib.api import routes, runtime\n"
        "from tests.support.interactions import click_body, menu_choice\n"
        "from tests.support.serving import RecordingDispatcher, signed\n"
        "recorder = RecordingDispatcher()\n"
        "runtime.reset(dispatcher=recorder)\n"
        "form = 'application/x-www-form-urlencoded'\n"
        'menu = \'{"q":"slash:1","team":"P"}\'\n'
        "for body in (click_body('feedback_wrong'), menu_choice('DATA', menu)):\n"
        "    routes.interactions(body, signed(body, form))\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'botocore' or 'feedback_store' in m)\n"
        "print([job.verdict for job in recorder.jobs], loaded)\n"
    )
    result = _fresh_python(code, base_env(tmp_path))
    assert result.stdout.strip() == "['wrong', 'corrected'] []"
