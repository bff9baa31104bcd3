"""POST /slack/interactions end to end through chalice.test.Client, signed the way Slack signs:
feedback clicks are verified, logged as one `feedback` line, handed to the worker as a `feedback`
job (which thanks the user through the click's response_url) and answered 200 at once; anything
else gets a short answer, never a 5xx."""

from __future__ import annotations

import json
import re
import time
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from chalicelib.api import runtime as api_runtime
from chalicelib.api.dispatch import LambdaDispatcher
from chalicelib.slack.render import FEEDBACK_RIGHT, FEEDBACK_WRONG, RankedTeam, render_answer
from scripts.local_server import free_port
from tests.support.aws import apply_fake_aws_env
from tests.support.interactions import RESPONSE_URL, block_actions, click_body, interaction_body
from tests.support.serving import (
    SIGNING_SECRET,
    RecordingDispatcher,
    apply_env,
    base_env,
    signed,
)

FORM = "application/x-www-form-urlencoded"
PATH = "/slack/interactions"


def post(client: Any, body: bytes, headers: dict[str, str] | None = None) -> Any:
    return client.http.post(PATH, headers=headers or signed(body, FORM), body=body)


@pytest.mark.parametrize(("action_id", "verdict"), [(FEEDBACK_RIGHT, "right"), (FEEDBACK_WRONG, "wrong")])
def test_a_click_on_a_rendered_answer_is_logged_and_handed_over_for_confirmation(
    client: Any, dispatcher: RecordingDispatcher, json_logs: Any, action_id: str, verdict: str
) -> None:
    message = render_answer(
        "who owns refunds?", [RankedTeam("PAYMENTS", 0.93, "Payments")], 0.5, question_id="slash:trig.77"
    )
    [actions] = [block for block in message.blocks if block["type"] == "actions"]
    [button] = [element for element in actions["elements"] if element["action_id"] == action_id]

    started = time.perf_counter()
    response = post(client, click_body(action_id, button["value"]))
    elapsed = time.perf_counter() - started

    assert response.status_code == 200
    assert json.loads(response.body) == {"ok": True}
    assert elapsed < 1.0  # Slack's limit is 3 s; this route only hands the confirmation over
    [line] = json_logs.events("feedback")
    assert line["verdict"] == verdict
    assert (line["question_id"], line["suggested_team"]) == ("slash:trig.77", "PAYMENTS")
    assert (line["user_id"], line["team_id"]) == ("U0001", "T0001")
    assert line["request_id"] and line["verify_ms"] >= 0
    [job] = dispatcher.jobs
    assert (job.kind, job.job_id, job.verdict) == ("feedback", "feedback:1234.5678.abcdef", verdict)
    assert (job.question, job.suggested_team, job.user_id) == ("slash:trig.77", "PAYMENTS", "U0001")
    assert job.response_url == RESPONSE_URL and job.request_id == line["request_id"]
    [handed] = json_logs.events("feedback_dispatched")
    assert handed["job_id"] == job.job_id and handed["dispatch_ms"] >= 0
    assert RESPONSE_URL not in json_logs.text()
    assert "deprecated-verification-token" not in json_logs.text()


def test_a_forged_click_is_refused_and_not_recorded(
    client: Any, dispatcher: RecordingDispatcher, json_logs: Any
) -> None:
    body = click_body()

    response = post(client, body, signed(body, FORM, secret="not-" + SIGNING_SECRET))

    assert response.status_code == 401
    assert json.loads(response.body) == {"error": "invalid request signature"}
    assert json_logs.events("feedback") == []
    assert dispatcher.jobs == []
    assert json_logs.events("request_refused")[0]["route"] == "interactions"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"payload=",
        b"text=hello",
        b"payload=%FF%FE",
        urlencode({"payload": "{not json"}).encode(),
        interaction_body(["a"]),
        interaction_body({"no": "type"}),
        interaction_body(block_actions(user="U1")),
        interaction_body(block_actions(actions=[])),
        interaction_body(block_actions(actions=[{"action_id": None}])),
    ],
    ids=[
        "empty",
        "empty-payload",
        "no-payload",
        "percent-non-utf8",
        "not-json",
        "json-list",
        "no-type",
        "bad-user",
        "no-actions",
        "bad-action",
    ],
)
def test_malformed_interactions_get_a_short_400(
    client: Any, dispatcher: RecordingDispatcher, body: bytes
) -> None:
    response = post(client, body)

    assert response.status_code == 400
    reply = json.loads(response.body)
    assert list(reply) == ["error"] and 0 < len(reply["error"]) <= 120
    assert "Traceback" not in reply["error"]


@pytest.mark.parametrize(
    "body",
    [
        interaction_body({"type": "view_submission", "view": {}}),
        interaction_body({"type": "shortcut", "callback_id": "x"}),
        click_body("some_other_button", "x"),
        click_body(FEEDBACK_WRONG, "not what render.py writes"),
        click_body(FEEDBACK_RIGHT, None),
    ],
    ids=["view-submission", "shortcut", "unknown-action", "unreadable-value", "no-value"],
)
def test_well_formed_interactions_we_do_not_handle_get_200_and_no_feedback(
    client: Any, dispatcher: RecordingDispatcher, json_logs: Any, body: bytes
) -> None:
    response = post(client, body)

    assert response.status_code == 200
    assert json.loads(response.body) == {"ok": True}
    assert json_logs.events("feedback") == []
    assert json_logs.events("interaction_ignored") or json_logs.events("feedback_unreadable")
    assert dispatcher.jobs == []  # nothing to confirm


def test_a_redelivered_click_hands_over_the_same_job_for_the_worker_to_confirm_once(
    client: Any, dispatcher: RecordingDispatcher
) -> None:
    body = click_body()

    responses = [post(client, body), post(client, body)]

    assert [response.status_code for response in responses] == [200, 200]
    first, again = dispatcher.jobs
    assert first.job_id == again.job_id == "feedback:1234.5678.abcdef"  # the worker's exactly-once key
    assert replace(first, request_id=None) == replace(again, request_id=None)  # only the request differs


def test_a_click_without_a_response_url_is_logged_and_not_confirmed(
    client: Any, dispatcher: RecordingDispatcher, json_logs: Any
) -> None:
    response = post(client, click_body(response_url=None))

    assert response.status_code == 200 and json.loads(response.body) == {"ok": True}
    assert len(json_logs.events("feedback")) == 1
    assert dispatcher.jobs == []


def test_a_failed_handover_still_answers_200_and_is_an_error_without_the_url(
    client: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, json_logs: Any
) -> None:
    """The real LambdaDispatcher (boto3) against a Lambda endpoint that is down: the click is not
    stored, only its `feedback` line remains, so the operator is told at ERROR."""
    apply_env(monkeypatch, base_env(tmp_path, DISPATCH_MODE="lambda", WORKER_FUNCTION_NAME="whoknows-worker"))
    apply_fake_aws_env(monkeypatch, tmp_path / "absent")
    monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", f"http://127.0.0.1:{free_port()}")

    response = post(client, click_body(FEEDBACK_WRONG))

    assert isinstance(api_runtime.get_runtime().dispatcher, LambdaDispatcher)
    assert response.status_code == 200 and json.loads(response.body) == {"ok": True}
    [line] = json_logs.events("feedback")  # the click's verdict and teams are in the log all the same
    assert (line["verdict"], line["question_id"], line["suggested_team"]) == (
        "wrong",
        "slash:trig.123",
        "PAYMENTS",
    )
    [failed] = json_logs.events("feedback_dispatch_failed")
    assert failed["level"] == "ERROR" and failed["job_id"] == "feedback:1234.5678.abcdef"
    assert "EndpointConnectionError" in failed["error"]
    assert json_logs.events("feedback_dispatched") == []
    assert [line["event"] for line in json_logs.lines if line["level"] in ("ERROR", "CRITICAL")] == [
        "feedback_dispatch_failed"
    ]
    assert RESPONSE_URL not in json_logs.text() and "interactionsecretpart" not in json_logs.text()


def test_json_is_not_what_slack_sends_here(client: Any, dispatcher: RecordingDispatcher) -> None:
    body = json.dumps(block_actions()).encode()

    response = post(client, body, signed(body, "application/json"))

    assert response.status_code == 415  # Chalice refuses the content type before our code runs


def test_misconfiguration_answers_200_not_a_5xx(
    client: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, json_logs: Any
) -> None:
    env = base_env(tmp_path)
    del env["MODEL_URI"]
    apply_env(monkeypatch, env)

    response = post(client, click_body())

    assert response.status_code == 200
    assert json.loads(response.body) == {"ok": False}
    assert json_logs.events("config_invalid")[0]["route"] == "interactions"


def test_without_a_signing_secret_a_click_gets_an_empty_200(
    client: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, json_logs: Any
) -> None:
    env = base_env(tmp_path)
    del env["SLACK_SIGNING_SECRET"]
    apply_env(monkeypatch, env)

    response = post(client, click_body())

    assert (response.status_code, response.body) == (200, b"")
    assert json_logs.events("config_invalid")[0]["route"] == "interactions"


def test_the_slack_app_manifest_sends_clicks_to_this_route() -> None:
    """Interactivity on, its URL a placeholder deploy.sh fills from the stack's outputs (as it fills
    the other two)."""
    repo = Path(__file__).resolve().parent.parent
    template = (repo / "deploy" / "slack-app-manifest.template.json").read_text()
    deploy = (repo / "deploy" / "deploy.sh").read_text()
    interactivity = json.loads(template)["settings"]["interactivity"]

    assert interactivity == {"is_enabled": True, "request_url": "${SLACK_INTERACTIONS_URL}"}
    outputs = json.loads((repo / "deploy" / "merge-template.json").read_text())["Outputs"]
    assert 'SLACK_INTERACTIONS_URL="$(stack_output SlackInteractionsURL)"' in deploy
    assert outputs["SlackInteractionsURL"]["Value"]["Fn::Sub"].endswith("/api" + PATH)
    for name in re.findall(r"\$\{([A-Z_]+)\}", template):
        assert f'"{name}"' in deploy, f"deploy.sh does not substitute {name}"
