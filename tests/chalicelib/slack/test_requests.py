"""Parsing slash commands and Events API envelopes, including what Slack never sends."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from chalicelib.slack.requests import (
    MAX_QUESTION_CHARS,
    BadRequest,
    EventCallback,
    IgnoredEnvelope,
    SlashCommand,
    UrlVerification,
    parse_event_callback,
    parse_slash_command,
    strip_bot_mention,
)

RESPONSE_URL = "https://hooks.slack.com/commands/T1/2/abc"


def form(**fields: str) -> bytes:
    base = {"user_id": "U2CERLKJA", "response_url": RESPONSE_URL}
    return urlencode(base | fields).encode()


def envelope(**overrides: object) -> bytes:
    event = {
        "type": "app_mention",
        "user": "U1",
        "text": "<@UBOT> who knows about refunds?",
        "ts": "1700000000.000100",
        "channel": "C1",
        "channel_type": "channel",
    }
    body = {
        "type": "event_callback",
        "event_id": "Ev1",
        "team_id": "T1",
        "api_app_id": "A1",
        "event": event,
        "authorizations": [{"user_id": "UBOT", "is_bot": True}],
    }
    body.update(overrides)
    return json.dumps(body).encode()


def test_full_slash_command() -> None:
    body = form(
        text="  why does the nightly export time out?  ",
        command="/whoknows",
        channel_id="C1",
        team_id="T1",
        trigger_id="1.2.3",
    )
    assert parse_slash_command(body) == SlashCommand(
        user_id="U2CERLKJA",
        response_url=RESPONSE_URL,
        text="why does the nightly export time out?",
        command="/whoknows",
        channel_id="C1",
        team_id="T1",
        trigger_id="1.2.3",
    )


def test_optional_fields_may_be_missing_or_empty() -> None:
    command = parse_slash_command(form(channel_id=""))
    assert command.text == ""
    assert (command.command, command.channel_id, command.team_id, command.trigger_id) == (None,) * 4


def test_unicode_text_survives() -> None:
    assert parse_slash_command(form(text="wer kennt sich mit Zürich-Äpfeln aus? 🍎")).text.endswith("🍎")


def test_text_at_the_limit_is_accepted_and_beyond_it_refused() -> None:
    assert len(parse_slash_command(form(text="a" * MAX_QUESTION_CHARS)).text) == MAX_QUESTION_CHARS
    with pytest.raises(BadRequest, match=r"4001 characters long; please keep it under 4000"):
        parse_slash_command(form(text="a" * (MAX_QUESTION_CHARS + 1)))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"user_id=U1&response_url=x&text=\xff", "not valid UTF-8"),
        (b"user_id=U1&response_url=x&text=%FF", "not valid UTF-8 once percent-decoded"),
        (b'{"user_id": "U1", "response_url": "x"}', "got JSON"),
        (b"response_url=x", "missing user_id"),
        (b"user_id=U1", "missing response_url"),
        (b"", "missing user_id"),
        (b"user_id=U1&response_url=x&text=a&text=b", "more than once: text"),
    ],
    ids=["raw-non-utf8", "percent-non-utf8", "json", "no-user", "no-response-url", "empty", "repeated"],
)
def test_malformed_slash_commands(body: bytes, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        parse_slash_command(body)


def test_url_verification() -> None:
    body = json.dumps({"type": "url_verification", "challenge": "3eZbrw1aB", "token": "t"}).encode()
    assert parse_event_callback(body) == UrlVerification(challenge="3eZbrw1aB")


def test_app_mention_event() -> None:
    event = parse_event_callback(envelope())
    assert isinstance(event, EventCallback)
    assert (event.event_id, event.team_id, event.event_type, event.user) == ("Ev1", "T1", "app_mention", "U1")
    assert event.authorized_user_ids == ("UBOT",)
    assert event.api_app_id == "A1"
    assert not event.is_from_bot
    assert event.reply_thread_ts == "1700000000.000100"
    assert strip_bot_mention(event.text) == "who knows about refunds?"


def test_threaded_bot_message_without_optional_envelope_fields() -> None:
    body = {
        "type": "event_callback",
        "event_id": "Ev2",
        "team_id": "T1",
        "event": {
            "type": "message",
            "subtype": "bot_message",
            "bot_id": "B1",
            "ts": "2.0",
            "thread_ts": "1.0",
        },
    }
    event = parse_event_callback(json.dumps(body).encode())
    assert isinstance(event, EventCallback)
    assert event.is_from_bot
    assert event.reply_thread_ts == "1.0"
    assert (event.text, event.api_app_id, event.authorized_user_ids) == ("", None, ())


def _org_install(event_team: str | None = "T0GRID02", **envelope_fields: object) -> bytes:
    """An Enterprise Grid org-wide install's envelope: the bot's authorization has no workspace."""
    event = {
        "type": "message",
        "channel_type": "im",
        "user": "W1",
        "text": "who?",
        "ts": "1.5",
        "channel": "D1",
    }
    if event_team is not None:
        event["team"] = event_team
    body: dict[str, object] = {
        "type": "event_callback",
        "event_id": "Ev9",
        "enterprise_id": "E0GRID",
        "is_ext_shared_channel": False,
        "authorizations": [{"enterprise_id": "E0GRID", "team_id": None, "user_id": "W0BOT", "is_bot": True}],
        "event": event,
    }
    body.update(envelope_fields)
    return json.dumps(body).encode()


@pytest.mark.parametrize(
    ("body", "workspace"),
    [
        (_org_install(), "T0GRID02"),
        (_org_install(team_id=None), "T0GRID02"),
        (_org_install(event_team=None, context_team_id="T0CONTEXT"), "T0CONTEXT"),
        (_org_install(event_team=None), "E0GRID"),
        (_org_install(event_team=None, enterprise_id=None), "E0GRID"),  # the authorization's
        (_org_install(team_id="T0TOP"), "T0TOP"),
    ],
    ids=["event-team", "team-id-null", "context-team", "enterprise", "authorization-enterprise", "top-level"],
)
def test_org_wide_install_envelopes_name_their_workspace(body: bytes, workspace: str) -> None:
    event = parse_event_callback(body)

    assert isinstance(event, EventCallback)
    assert event.team_id == workspace
    assert event.authorized_user_ids == ("W0BOT",)


def test_an_org_wide_event_keeps_its_workspace_on_every_delivery() -> None:
    """A retry is the same body, and an @-mention's message twin names the same workspace."""
    mention = json.loads(_org_install())
    mention["event"] = {**mention["event"], "type": "app_mention"}
    mention["event"].pop("channel_type")
    parsed = [
        parse_event_callback(body) for body in (_org_install(), _org_install(), json.dumps(mention).encode())
    ]
    assert {event.team_id for event in parsed if isinstance(event, EventCallback)} == {"T0GRID02"}


def test_edited_is_read_from_the_event() -> None:
    edited = json.loads(envelope())
    edited["event"]["edited"] = {"user": "U1", "ts": "1700000001.000000"}
    assert parse_event_callback(json.dumps(edited).encode()).edited  # type: ignore[union-attr]
    assert not parse_event_callback(envelope()).edited  # type: ignore[union-attr]


def test_other_envelopes_are_ignored_not_rejected() -> None:
    assert parse_event_callback(b'{"type": "app_rate_limited", "minute_rate_limited": 1}') == IgnoredEnvelope(
        "app_rate_limited"
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"\xff", "not valid UTF-8"),
        (b"token=x&type=event_callback", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b"{}", "has no type"),
        (b'{"type": "url_verification"}', "url_verification is missing challenge"),
        (b'{"type": "event_callback", "event_id": "E", "team_id": "T"}', "no event object"),
        (b'{"type": "event_callback", "team_id": "T", "event": {"type": "message"}}', "missing event_id"),
        (
            b'{"type": "event_callback", "event_id": "E", "team_id": "T", "event": {}}',
            "event is missing type",
        ),
        (envelope(event={"type": "message", "text": 5}), "text must be a string"),
        (envelope(authorizations={"user_id": "U"}), "authorizations must be a list"),
        (envelope(team_id=None, authorizations=None), "missing team_id"),
        (
            _org_install(event_team=None, enterprise_id=None, authorizations=[{"user_id": "W0BOT"}]),
            "names no workspace",
        ),
        (envelope(team_id=7), "team_id must be a string"),
    ],
    ids=[
        "non-utf8",
        "form",
        "array",
        "no-type",
        "no-challenge",
        "no-event",
        "no-event-id",
        "no-event-type",
        "text-not-str",
        "bad-authorizations",
        "no-team",
        "org-without-workspace",
        "team-not-str",
    ],
)
def test_malformed_envelopes(body: bytes, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        parse_event_callback(body)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<@U123ABC> who owns HDFS?", "who owns HDFS?"),
        ("<@U123ABC|whoknows>   who owns HDFS?", "who owns HDFS?"),
        ("<@U1> <@W2> two mentions", "two mentions"),
        ("who owns <@U1>'s service?", "who owns <@U1>'s service?"),
        ("  no mention  ", "no mention"),
        ("<@U1>", ""),
        ("<#C1> is not a user mention", "<#C1> is not a user mention"),
    ],
)
def test_strip_bot_mention(text: str, expected: str) -> None:
    assert strip_bot_mention(text) == expected
