"""Event filtering: trigger word, bots, subtypes, duplicates by event_id and by message."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.api.events import SUBTYPES, Decision, EventFilter, InMemorySeenEvents
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


@pytest.mark.parametrize("subtype", ["file_share", "thread_broadcast", "me_message"])
def test_a_persons_message_with_a_subtype_is_answered(subtype: str) -> None:
    dm = _event(event_type="message", channel_type="im", subtype=subtype, text="who owns the exporter?")

    decision = EventFilter(InMemorySeenEvents(), "who").consider(dm)

    assert decision.reason == "answer"
    assert decision.job is not None and decision.job.question == "who owns the exporter?"


def test_a_thread_broadcast_is_answered_in_its_thread() -> None:
    dm = _event(
        event_type="message", channel_type="im", subtype="thread_broadcast", ts="2.2", thread_ts="1.1"
    )

    decision = EventFilter(InMemorySeenEvents(), "who").consider(dm)

    assert decision.job is not None and decision.job.thread_ts == "1.1"


@pytest.mark.parametrize(
    "subtype",
    ["bot_message", "message_changed", "message_deleted", "message_replied", "channel_join", "huddle_thread"],
)
def test_bots_edits_deletions_system_and_unlisted_subtypes_are_ignored(subtype: str) -> None:
    dm = _event(event_type="message", channel_type="im", subtype=subtype, text="who knows?")

    decision = EventFilter(InMemorySeenEvents(), "who").consider(dm)

    assert decision.job is None
    assert decision.reason in ("bot_message", f"subtype_{subtype}")


def test_every_listed_subtype_gives_a_reason() -> None:
    assert all(why.strip() for _answered, why in SUBTYPES.values())
    assert {subtype for subtype, (answered, _) in SUBTYPES.items() if answered} == {
        None,
        "file_share",
        "thread_broadcast",
        "me_message",
    }


@pytest.mark.parametrize("event_type", ["app_mention", "message"])
def test_an_edit_is_never_answered_even_by_a_container_that_never_saw_the_original(event_type: str) -> None:
    original = _event("Ev1", event_type=event_type, channel_type="im")
    edit = _event("Ev2", event_type=event_type, channel_type="im", edited=True)

    assert EventFilter(InMemorySeenEvents(), "who").consider(original).reason == "answer"
    assert EventFilter(InMemorySeenEvents(), "who").consider(edit) == Decision(None, "edited")


def test_a_bot_is_ignored_whatever_its_subtype() -> None:
    dm = _event(event_type="message", channel_type="im", subtype="file_share", bot_id="B1")

    assert EventFilter(InMemorySeenEvents(), "who").consider(dm).reason == "bot_message"


def test_the_trigger_word_is_looked_for_in_the_text_as_read() -> None:
    """A link or a mention is read by its label: a URL on who.example does not ask anything."""
    events = EventFilter(InMemorySeenEvents(), "who")

    linked = _event("Ev1", text="<@UBOT> see <https://who.example/x|the doc>")
    typed = _event("Ev2", ts="2.2", text="<@UBOT> R&amp;D: who&amp;what?")

    assert events.consider(linked).reason == "no_trigger_word"
    assert events.consider(typed).reason == "answer"
