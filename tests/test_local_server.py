"""Over real HTTP, as in production: `chalice local` on 127.0.0.1, the model fetched with boto3
from a local S3-compatible server (moto), answers posted to a Slack stand-in on 127.0.0.1."""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from chalicelib.slack.render import FEEDBACK_WRONG
from export.publish import publish
from export.sample import SAMPLE_TEAMS
from scripts.local_server import ChaliceLocal
from tests.support.interactions import click_body
from tests.support.serving import event_body
from tests.support.slack_standin import SlackStandIn

SECRET = "integration-signing-secret"
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def server(
    sample_model_dir: Path, s3_bucket: tuple[Any, str], slack_standin: SlackStandIn, tmp_path: Path
) -> Iterator[ChaliceLocal]:
    client, bucket = s3_bucket
    model_uri = publish(sample_model_dir, f"s3://{bucket}/models", client).removesuffix("/manifest.json")
    env = {
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_BOT_TOKEN": "xoxb-integration",
        "MODEL_URI": model_uri,
        "MODEL_CACHE_DIR": str(tmp_path / "cache"),
        "DISPATCH_MODE": "local",
        "TEAM_DIRECTORY": str(SAMPLE_TEAMS),
        "RESPONSE_URL_EXTRA_HOSTS": slack_standin.host,
        "SLACK_API_BASE_URL": slack_standin.api_url,
    }
    with ChaliceLocal(env, SECRET).start(tmp_path / "chalice.log") as running:
        yield running


def slash(slack: SlackStandIn, text: str) -> bytes:
    return urlencode(
        {
            "command": "/whoknows",
            "text": text,
            "user_id": "U1",
            "channel_id": "C1",
            "team_id": "T1",
            "trigger_id": f"t.{time.time_ns()}",
            "response_url": slack.response_url("it"),
        }
    ).encode()


@pytest.mark.slow
def test_slash_command_acks_then_answers_via_response_url(
    server: ChaliceLocal, slack_standin: SlackStandIn
) -> None:
    status, body = server.post_signed(
        "/slack/commands", slash(slack_standin, "iOS push notifications stopped"), FORM
    )
    assert status == 200
    ack = json.loads(body)
    assert ack["response_type"] == "ephemeral" and "iOS push notifications stopped" in ack["text"]
    answer = slack_standin.wait_for(1, timeout=20)[0]
    assert answer.path.startswith("/response/")
    assert "Mobile" in answer.body["text"]
    assert answer.body["blocks"]


@pytest.mark.slow
def test_forged_request_is_refused_with_401_and_no_answer(
    server: ChaliceLocal, slack_standin: SlackStandIn
) -> None:
    status, body = server.post_signed(
        "/slack/commands", slash(slack_standin, "who?"), FORM, **{"X-Slack-Signature": "v0=" + "0" * 64}
    )
    assert status == 401 and "error" in json.loads(body)
    time.sleep(0.5)
    assert slack_standin.accepted == []


@pytest.mark.slow
def test_mention_is_answered_in_thread_with_chat_post_message(
    server: ChaliceLocal, slack_standin: SlackStandIn
) -> None:
    event = {
        "type": "app_mention",
        "user": "U2",
        "text": "<@UBOT> who knows why SSO login loops after the SAML change?",
        "ts": "1700000000.000100",
        "channel": "C9",
    }
    status, _ = server.post_signed("/slack/events", event_body(event, event_id="EvIT1"), "application/json")
    assert status == 200
    post = slack_standin.wait_for(1, timeout=20)[0]
    assert post.path == "/api/chat.postMessage"
    assert post.body["channel"] == "C9" and post.body["thread_ts"] == "1700000000.000100"
    assert "Identity" in post.body["text"]


@pytest.mark.slow
def test_feedback_click_is_acked_then_confirmed_via_its_response_url(
    server: ChaliceLocal, slack_standin: SlackStandIn
) -> None:
    body = click_body(FEEDBACK_WRONG, response_url=slack_standin.response_url("click"))

    status, reply = server.post_signed("/slack/interactions", body, FORM)

    assert status == 200 and json.loads(reply) == {"ok": True}
    [confirmation] = slack_standin.wait_for(1, timeout=20)
    assert confirmation.path == "/response/click"
    assert confirmation.body["response_type"] == "ephemeral"
    assert confirmation.body["replace_original"] is False  # the answer and its buttons stay
    assert confirmation.body["text"].startswith("Thanks — noted that Payments was not the right team")
    time.sleep(0.3)
    assert len(slack_standin.received) == 1


@pytest.mark.slow
def test_start_then_with_runs_one_server_and_stops_it(tmp_path: Path) -> None:
    # `with ChaliceLocal(...).start(log) as server` once started a second process from __enter__;
    # it failed to bind, the first was never stopped and kept serving after the block.
    env = {
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_BOT_TOKEN": "xoxb-x",
        "MODEL_URI": str(tmp_path),
        "DISPATCH_MODE": "local",
    }
    with ChaliceLocal(env, SECRET).start(tmp_path / "chalice.log") as running:
        pid, port = running.pid, running.port
        assert running.post_signed("/slack/commands", b"ssl_check=1", FORM)[0] == 200
    assert pid is not None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        pass
