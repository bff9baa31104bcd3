"""Event filtering: trigger word, bots, subtypes, duplicates by event_id and by message."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.api.events import EventFilter, InMemorySeenEvents
from chalicelib.slack.requests import EventCallback


def _event(event_id: str = "Ev1", **fields: Any) -> EventCallback:
    base: dict[str, Any] = {
        "team_id": "T1",
        "event_type": "app_mention",
        "user": "U1",
        "channel": "C1",
        "ts": "1.1",
        "text": "<@UBOT> who knows about refunds?",
        "authorized_user_ids": ("UBOT",),
    }
    return EventCallback(event_id=event_id, **{**base, **fields})


def test_mention_with_trigger_becomes_a_job_without_the_mention() -> None:
    decision = EventFilter(InMemorySeenEvents(), "who").consider(_event(), request_id="r1")

    assert decision.reason == "answer"
    assert decision.job is not None
    assert decision.job.question == "who knows about refunds?"
    assert decision.job.request_id == "r1"


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"bot_id": "B1"}, "bot_message"),
        ({"user": "UBOT"}, "own_or_anonymous_message"),
        ({"subtype": "message_changed"}, "subtype_message_changed"),
        ({"event_type": "message", "channel_type": "channel"}, "not_addressed_to_bot"),
        ({"event_type": "reaction_added"}, "not_addressed_to_bot"),
        ({"text": "<@UBOT>"}, "empty_question"),
        ({"text": "<@UBOT> how are refunds done?"}, "no_trigger_word"),
        ({"ts": None}, "no_channel_or_ts"),
    ],
)
def test_ignored_events(fields: dict[str, Any], reason: str) -> None:
    decision = EventFilter(InMemorySeenEvents(), "who").consider(_event(**fields))

    assert (decision.job, decision.reason) == (None, reason)


def test_trigger_word_is_configurable_and_whole_word() -> None:
    events = EventFilter(InMemorySeenEvents(), "wer")

    assert events.mentions_trigger("Wer weiß das?")
    assert not events.mentions_trigger("werkzeug kaputt")
    assert not events.mentions_trigger("who knows?")


def test_same_event_id_or_same_message_is_answered_once() -> None:
    events = EventFilter(InMemorySeenEvents(), "who")

    assert events.consider(_event("Ev1")).job is not None
    assert events.consider(_event("Ev1")).reason == "duplicate_event"
    dm_copy = _event("Ev2", event_type="message", channel_type="im")
    assert events.consider(dm_copy).reason == "duplicate_message"


def test_seen_events_forget_after_ttl_and_stay_bounded() -> None:
    now = [0.0]
    seen = InMemorySeenEvents(ttl_seconds=10, max_entries=3, clock=lambda: now[0])

    assert seen.first_time("a") and not seen.first_time("a")
    now[0] = 11
    assert seen.first_time("a")
    for key in "bcde":
        assert seen.first_time(key)
    assert len(seen) == 3
