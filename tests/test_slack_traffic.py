"""Real Slack traffic, end to end: the shapes real workspaces send every day (issue 12), each through
the routes, the worker, the sample model and slack_sdk's clients to the Slack stand-in, counting the
answers a user would see.

1. Escaped text is unescaped once and escaped once: shown as typed.
2. A person's message with a subtype (file_share, thread_broadcast) is answered.
3. A retry is processed, and a question is answered once whichever delivery arrives first.
4. An edit is never answered again, even by a container that never saw the original.
5. A slash command whose response_url is not Slack's is told so in the ack, and no job starts.
6. Enterprise Grid org-wide installs (no top-level team_id) are answered.
7. The signature is checked first, even when the deployment is misconfigured.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from chalicelib.api import runtime as api_runtime
from chalicelib.api.dispatch import DispatchFailed
from chalicelib.jobs import Job
from chalicelib.slack.markup import unescape
from tests.support.aws import apply_fake_aws_env
from tests.support.live_bot import LiveBot
from tests.support.serving import RecordingDispatcher, apply_env, base_env, signed, slash_body
from tests.support.slack_standin import POST_MESSAGE_PATH

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
BOT = "U0WHOBOT01"


def envelope(event: dict[str, Any], event_id: str, **fields: Any) -> bytes:
    """An Events API envelope as Slack sends it to a workspace install."""
    body = {
        "token": "placeholder",
        "team_id": "T0ACME0001",
        "api_app_id": "A0WHOKNOWS",
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": 1755000000,
        "authorizations": [{"enterprise_id": None, "team_id": "T0ACME0001", "user_id": BOT, "is_bot": True}],
        "is_ext_shared_channel": False,
        **fields,
    }
    return json.dumps({key: value for key, value in body.items() if value is not ...}).encode()


def mention(text: str, ts: str = "1755000100.000100", **fields: Any) -> dict[str, Any]:
    return {
        "type": "app_mention",
        "text": f"<@{BOT}> {text}",
        "user": "U0ALICE001",
        "ts": ts,
        "team": "T0ACME0001",
        "channel": "C0GENERAL1",
        "event_ts": ts,
        **fields,
    }


def dm(text: str, ts: str = "1755000200.000100", **fields: Any) -> dict[str, Any]:
    return {
        "type": "message",
        "text": text,
        "user": "U0ALICE001",
        "ts": ts,
        "team": "T0ACME0001",
        "channel": "D0ALICEDM1",
        "event_ts": ts,
        "channel_type": "im",
        **fields,
    }


def thread_posts(bot: LiveBot) -> list[Any]:
    return [post for post in bot.answers() if post.path == POST_MESSAGE_PATH]


# --- 1. escaped once, shown as typed -------------------------------------------------------


def test_escaped_text_is_shown_as_typed_in_the_ack_and_the_answer(live_bot: LiveBot) -> None:
    typed = "who knows why the R&D <nightly> export shows &lt;br&gt;?"
    sent = "who knows why the R&amp;D &lt;nightly&gt; export shows &amp;lt;br&amp;gt;?"  # Slack's escaping

    ack = live_bot.post(
        "/slack/commands", slash_body(sent, response_url=live_bot.slack.response_url("c1")), FORM
    )

    [answer] = live_bot.answers()
    ack_text = json.loads(ack.body)["text"]
    for text in (ack_text, answer.body["text"], json.dumps(answer.body["blocks"])):
        assert sent.removeprefix("who knows why ").removesuffix("?") in text  # escaped exactly once
        assert "&amp;amp;" not in text and "&amp;lt;nightly" not in text
    assert typed in unescape(ack_text) and typed in unescape(answer.body["text"])  # as Slack shows it


def test_an_escaped_mention_is_answered_as_typed_in_its_thread(live_bot: LiveBot) -> None:
    event = mention("who knows why the R&amp;D &lt;nightly&gt; export fails?")

    live_bot.post("/slack/events", envelope(event, "Ev0ESC0001"), JSON)

    [answer] = thread_posts(live_bot)
    assert "who knows why the R&D <nightly> export fails?" in unescape(answer.body["text"])
    assert answer.body["thread_ts"] == event["ts"]


# --- 2. a person's message with a subtype --------------------------------------------------


def test_a_dm_with_a_file_attached_is_answered(live_bot: LiveBot) -> None:
    event = dm(
        "who can tell what this export error means?", subtype="file_share", files=[{"id": "F0LOG00001"}]
    )

    live_bot.post("/slack/events", envelope(event, "Ev0FILE001"), JSON)

    [answer] = thread_posts(live_bot)
    assert (answer.body["channel"], answer.body["thread_ts"]) == ("D0ALICEDM1", event["ts"])


def test_a_thread_reply_also_sent_to_the_conversation_is_answered_in_its_thread(live_bot: LiveBot) -> None:
    event = dm(
        "who signs off on the retention change?", subtype="thread_broadcast", thread_ts="1755000199.000001"
    )

    live_bot.post("/slack/events", envelope(event, "Ev0BCAST01"), JSON)

    [answer] = thread_posts(live_bot)
    assert answer.body["thread_ts"] == "1755000199.000001"


def test_edits_deletions_and_bots_with_subtypes_stay_unanswered(live_bot: LiveBot) -> None:
    changed = {
        "type": "message",
        "subtype": "message_changed",
        "message": {"type": "message", "text": "who knows?", "user": "U0ALICE001", "ts": "1.1"},
        "channel": "D0ALICEDM1",
        "ts": "1.2",
        "channel_type": "im",
    }
    bot_file = dm("who knows? build log attached", subtype="file_share", bot_id="B0CI000001")

    live_bot.post("/slack/events", envelope(changed, "Ev0CHANGE1"), JSON)
    live_bot.post("/slack/events", envelope(bot_file, "Ev0BOTFIL1"), JSON)

    assert live_bot.answers() == []


# --- 3. retries ----------------------------------------------------------------------------


def test_a_retry_that_is_the_only_delivery_is_answered(live_bot: LiveBot) -> None:
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}

    response = live_bot.post(
        "/slack/events", envelope(mention("who is on call for payments?"), "Ev0RETRY1"), JSON, **retry
    )

    assert response.status_code == 200
    assert len(thread_posts(live_bot)) == 1


@pytest.mark.parametrize("order", ["original_then_retry", "retry_then_original"])
def test_a_question_is_answered_once_whichever_delivery_arrives_first(live_bot: LiveBot, order: str) -> None:
    body = envelope(mention("who approves schema migrations?"), "Ev0RETRY2")
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_error"}
    deliveries = [{}, retry] if order == "original_then_retry" else [retry, {}]

    statuses = [live_bot.post("/slack/events", body, JSON, **headers).status_code for headers in deliveries]

    assert statuses == [200, 200]
    assert len(thread_posts(live_bot)) == 1


class FailsOnce(RecordingDispatcher):
    """The async invoke failing once (a throttled or unreachable Lambda API), then working."""

    def __init__(self) -> None:
        super().__init__()
        self.failed = False

    def dispatch(self, job: Job) -> None:
        if not self.failed:
            self.failed = True
            raise DispatchFailed("invoking whoknows-worker failed: TooManyRequestsException")
        super().dispatch(job)


def test_a_question_that_could_not_be_handed_over_is_answered_on_slacks_retry(
    dispatcher: RecordingDispatcher, client: Any, json_logs: Any
) -> None:
    flaky = FailsOnce()
    api_runtime.reset(dispatcher=flaky)
    body = envelope(mention("who maintains the billing cron?"), "Ev0HANDOVER")

    first = client.http.post("/slack/events", headers=signed(body, JSON), body=body)
    retry = client.http.post(
        "/slack/events", headers=signed(body, JSON, **{"X-Slack-Retry-Num": "1"}), body=body
    )

    assert first.status_code == 503  # not a 2xx: Slack delivers it again
    assert retry.status_code == 200
    assert [job.question for job in flaky.jobs] == ["who maintains the billing cron?"]
    assert json_logs.events("dispatch_failed")[0]["level"] == "ERROR"


# --- 4. edits ------------------------------------------------------------------------------


def test_an_edited_mention_is_not_answered_again_by_a_new_container(live_bot: LiveBot) -> None:
    """The edit has the same ts, an `edited` field and a new event_id; the container that answered
    the original is gone, and with it the memory of both ids."""
    original = mention("who knows why the nightly export fails?")
    edit = {
        **original,
        "text": original["text"] + " on Sundays",
        "edited": {"user": "U0ALICE001", "ts": "1755000101.0"},
    }

    live_bot.post("/slack/events", envelope(original, "Ev0EDIT001"), JSON)
    live_bot.new_container()
    live_bot.post("/slack/events", envelope(edit, "Ev0EDIT002"), JSON)

    assert len(thread_posts(live_bot)) == 1


# --- 5. a response_url that is not Slack's -------------------------------------------------


def test_a_foreign_response_url_is_reported_in_the_ack_and_starts_no_job(
    live_bot: LiveBot, records: Any
) -> None:
    body = slash_body("who owns the refund API?", response_url="https://hooks.example.com/commands/T1/2/x")

    ack = live_bot.post("/slack/commands", body, FORM)

    reply = json.loads(ack.body)
    assert ack.status_code == 200 and reply["response_type"] == "ephemeral"
    assert "response_url is not one of Slack's addresses" in reply["text"]
    assert "Looking for" not in reply["text"]
    assert live_bot.slack.received == []
    assert "slash_dispatched" not in records.events() and "job_done" not in records.events()
    assert records.at_or_above(logging.ERROR) == []  # no ERROR anywhere: nothing failed later, out of sight


# --- 6. org-wide installs ------------------------------------------------------------------


def _org_wide(event: dict[str, Any], event_id: str) -> bytes:
    """An org-wide install's envelope as the issue saw it: enterprise and authorizations, no team_id."""
    return envelope(
        event,
        event_id,
        team_id=...,
        enterprise_id="E0ACMEGRID",
        context_team_id="T0GRIDWS02",
        context_enterprise_id="E0ACMEGRID",
        authorizations=[
            {
                "enterprise_id": "E0ACMEGRID",
                "team_id": None,
                "user_id": BOT,
                "is_bot": True,
                "is_enterprise_install": True,
            }
        ],
    )


def test_an_org_wide_install_dm_is_answered(live_bot: LiveBot, records: Any) -> None:
    event = dm("who owns the group-wide VPN?", user="W0DANA0004", team="T0GRIDWS02", channel="D0DANADM04")

    live_bot.post("/slack/events", _org_wide(event, "Ev0GRID001"), JSON)

    [answer] = thread_posts(live_bot)
    assert answer.body["channel"] == "D0DANADM04"
    assert "event_bad_request" not in records.events()


def test_an_org_wide_retry_reaching_another_api_container_makes_the_same_job(live_bot: LiveBot) -> None:
    """The worker's ledger (here the one worker's memory) sees the retry's job id as already answered."""
    body = _org_wide(mention("who knows the SAP export interface?", team="T0GRIDWS01"), "Ev0GRID002")

    live_bot.post("/slack/events", body, JSON)
    api_runtime.reset()  # a new API container; the same worker
    live_bot.post(
        "/slack/events", body, JSON, **{"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    )

    assert len(thread_posts(live_bot)) == 1


# --- 7. signature first --------------------------------------------------------------------


def _send(client: Any, path: str, body: bytes, headers: dict[str, str]) -> Any:
    return client.http.post(path, headers=headers, body=body)


@pytest.mark.parametrize("path", ["/slack/commands", "/slack/events", "/slack/interactions"])
def test_a_misconfigured_bot_still_refuses_unsigned_and_forged_requests(
    client: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, path: str
) -> None:
    env = base_env(tmp_path)
    del env["MODEL_URI"]  # the signing secret is fine; another setting is not
    apply_env(monkeypatch, env)
    content_type = JSON if path == "/slack/events" else FORM
    body = slash_body("who?") if content_type == FORM else envelope(mention("who?"), "Ev0SIG0001")

    unsigned = _send(client, path, body, {"Content-Type": content_type})
    forged = _send(client, path, body, signed(body, content_type, secret="not-the-secret"))
    genuine = _send(client, path, body, signed(body, content_type))

    for refused in (unsigned, forged):
        assert refused.status_code == 401
        assert b"misconfigured" not in refused.body and b'"ok": false' not in refused.body
    assert genuine.status_code == 200
    if path == "/slack/commands":
        assert "misconfigured" in json.loads(genuine.body)["text"]


@pytest.mark.parametrize("how", ["missing", "unreadable_ssm_parameter"])
def test_without_a_readable_signing_secret_no_one_is_told_anything(
    client: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    moto_server: str,
    json_logs: Any,
    how: str,
) -> None:
    env = base_env(tmp_path)
    del env["SLACK_SIGNING_SECRET"]
    if how == "unreadable_ssm_parameter":
        env["SLACK_SIGNING_SECRET_PARAM"] = "/whoknows/test/no-such-parameter"
        apply_fake_aws_env(monkeypatch, tmp_path / "nowhere", SSM=moto_server)
    apply_env(monkeypatch, env)
    body = slash_body("who?")

    response = _send(client, "/slack/commands", body, signed(body, FORM))

    assert (response.status_code, response.body) == (200, b"")
    [logged] = json_logs.events("config_invalid")
    assert logged["level"] == "ERROR" and "SLACK_SIGNING_SECRET" in " ".join(logged["problems"])
