"""Over real HTTP, as in production: `chalice local` on 127.0.0.1, the model fetched with boto3
from a local S3-compatible server (moto), answers posted to a Slack stand-in on 127.0.0.1."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from chalicelib.config import SETTING_NAMES
from chalicelib.slack.render import FEEDBACK_WRONG
from chalicelib.slack.verify import sign_request
from export.publish import publish
from export.sample import SAMPLE_TEAMS
from scripts.local_server import REPO, ChaliceLocal, free_port, stop_process
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


def _local_env(**values: str) -> dict[str, str]:
    """The caller's environment without any bot setting, plus `values`."""
    env = {name: value for name, value in os.environ.items() if name not in SETTING_NAMES}
    return {**env, "PYTHONUNBUFFERED": "1", **values}


def _start_make_local(env: dict[str, str], *args: str) -> tuple[subprocess.Popen[str], list[str]]:
    """`python -m scripts.local_server` as `make local` runs it; its printout up to "Stop with Ctrl-C"."""
    process = subprocess.Popen(
        [sys.executable, "-m", "scripts.local_server", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    finished = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("Stop with Ctrl-C"):
                finished.set()
        finished.set()

    threading.Thread(target=read, daemon=True).start()
    if not finished.wait(timeout=60):
        stop_process(process, timeout=10)
        pytest.fail("make local printed no start-up summary within 60 s:\n" + "\n".join(lines))
    return process, lines


def _post_signed(port: int, secret: str, body: bytes) -> tuple[int, bytes]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/slack/commands",
        data=body,
        method="POST",
        headers={"Content-Type": FORM, **sign_request(secret, body, int(time.time()))},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.mark.slow
def test_make_local_prints_the_slack_setup_and_answers_a_signed_request(
    sample_model_dir: Path, slack_standin: SlackStandIn, tmp_path: Path
) -> None:
    # A copy of a model trained from the sample: ensure_model reuses it instead of training.
    model_dir = tmp_path / "sample-model"
    shutil.copytree(sample_model_dir, model_dir)
    port = free_port()
    env = _local_env(
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_BOT_TOKEN="xoxb-local",
        MODEL_CACHE_DIR=str(tmp_path / "cache"),
        RESPONSE_URL_EXTRA_HOSTS=slack_standin.host,
        SLACK_API_BASE_URL=slack_standin.api_url,
        PORT=str(port),
        PUBLIC_URL="https://whoknows-dev.example",
    )
    manifest_path = tmp_path / "slack-app-manifest.json"
    process, lines = _start_make_local(env, "--model-dir", str(model_dir), "--manifest", str(manifest_path))
    try:
        printout = "\n".join(lines)
        assert "model: reusing model" in printout
        assert f"whoknows is listening on http://127.0.0.1:{port}" in printout
        assert "DISPATCH_MODE=local" in printout and f"MODEL_URI={model_dir}" in printout
        for path in ("/slack/commands", "/slack/events", "/slack/interactions"):
            assert f"https://whoknows-dev.example{path}" in printout
        assert re.search(r"SLACK_SIGNING_SECRET\s+set\s", printout)
        assert re.search(r"SLACK_BOT_TOKEN\s+set\s", printout)
        assert "Not ready" not in printout
        manifest = json.loads(manifest_path.read_text())
        assert (
            manifest["settings"]["event_subscriptions"]["request_url"]
            == "https://whoknows-dev.example/slack/events"
        )

        status, body = _post_signed(port, SECRET, slash(slack_standin, "iOS push notifications stopped"))

        assert status == 200 and "iOS push notifications stopped" in json.loads(body)["text"]
        assert "Mobile" in slack_standin.wait_for(1, timeout=20)[0].body["text"]
    finally:
        stop_process(process, timeout=10)
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        pass  # terminating make local stops its chalice local too


@pytest.mark.slow
def test_make_local_without_settings_says_at_start_up_what_is_missing(sample_model_dir: Path) -> None:
    port = free_port()
    process, lines = _start_make_local(_local_env(MODEL_URI=str(sample_model_dir)), "--port", str(port))
    try:
        printout = "\n".join(lines)
        assert "https://<your-tunnel>/slack/commands" in printout
        assert re.search(r"SLACK_SIGNING_SECRET\s+MISSING\s", printout)
        assert "Not ready: until these are fixed, every Slack request is answered" in printout
        assert (
            "  - SLACK_SIGNING_SECRET (or SLACK_SIGNING_SECRET_PARAM, an SSM parameter name) is required"
            in lines
        )
        assert "  - SLACK_BOT_TOKEN (or SLACK_BOT_TOKEN_PARAM, an SSM parameter name) is required" in lines
        status, _ = _post_signed(port, SECRET, b"command=%2Fwhoknows&text=hi")
        assert status == 200  # the server runs and says it is misconfigured, as the printout warned
    finally:
        stop_process(process, timeout=10)
