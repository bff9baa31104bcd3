"""Which Events API deliveries deserve an answer, each answered once.

A person's message addressed to the bot (an @-mention, or a direct message) that contains the trigger
word is answered; `SUBTYPES` says which kinds of message count as a person's, and why. Bots are never
answered (two bots could answer each other forever), and neither is an edit: whether a delivery is
answered depends on the delivery alone, never on what this container remembers, so an edit reaching a
new container is not answered a second time.

Slack delivers at least once: the same event_id can arrive again, and an @-mention in a DM arrives
both as `app_mention` and as a `message` event with different event_ids but the same (channel, ts).
`SeenEvents` remembers both keys. It is per container on purpose: a cheap filter on the 3-second ack
path (no DynamoDB round trip, no botocore import). What it lets through twice (the same delivery reaching
two containers) has the same job id, and the worker answers each job id once across containers
(`chalicelib.worker.idempotency`, on DynamoDB when IDEMPOTENCY_TABLE is set).
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from chalicelib.jobs import Job
from chalicelib.slack.markup import to_plain
from chalicelib.slack.requests import EventCallback, strip_bot_mention

DEFAULT_TTL_SECONDS = 60 * 60  # Slack retries within minutes; an hour is ample
DEFAULT_MAX_ENTRIES = 10_000

SUBTYPES: Mapping[str | None, tuple[bool, str]] = {
    None: (True, "a person's message"),
    "file_share": (True, "a person's message with a file attached; the text is still their question"),
    "thread_broadcast": (True, "a person's thread reply also sent to the conversation"),
    "me_message": (True, "a person writing /me: still a person asking the bot"),
    "bot_message": (False, "written by an integration, not a person"),
    "message_changed": (False, "an edit: the message was already answered, or rightly not"),
    "message_deleted": (False, "a deletion carries no question"),
    "message_replied": (False, "Slack's notice that a thread got a reply, not a message"),
    "channel_join": (False, "system message"),
    "channel_leave": (False, "system message"),
    "channel_topic": (False, "system message"),
    "channel_purpose": (False, "system message"),
    "channel_name": (False, "system message"),
    "channel_archive": (False, "system message"),
    "channel_unarchive": (False, "system message"),
    "group_join": (False, "system message"),
    "group_leave": (False, "system message"),
    "pinned_item": (False, "system message"),
    "unpinned_item": (False, "system message"),
    "ekm_access_denied": (False, "system message"),
}
"""Message subtypes: (answered, why). An unlisted subtype is not answered: only subtypes known to
be a person writing are."""


class SeenEvents(Protocol):
    def first_time(self, key: str) -> bool:
        """Records `key`; True only for the first caller (atomically)."""
        ...

    def forget(self, key: str) -> None:
        """Drops `key`, so its next delivery is considered anew."""
        ...


class InMemorySeenEvents:
    """Bounded and time-limited, so a long-lived container cannot grow without limit."""

    def __init__(
        self,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl_seconds
        self._max = max_entries
        self._clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """How many keys are remembered now (never more than `max_entries`)."""
        with self._lock:
            return len(self._seen)

    def forget(self, key: str) -> None:
        with self._lock:
            self._seen.pop(key, None)

    def first_time(self, key: str) -> bool:
        now = self._clock()
        with self._lock:
            while self._seen and (
                len(self._seen) >= self._max or next(iter(self._seen.values())) <= now - self._ttl
            ):
                self._seen.popitem(last=False)
            if key in self._seen:
                return False
            self._seen[key] = now
            return True


@dataclass(frozen=True)
class Decision:
    job: Job | None
    reason: str
    """Why (not) answered, for the log: "answer", "duplicate_event", "bot_message", ..."""


class EventFilter:
    def __init__(self, seen: SeenEvents, trigger_word: str) -> None:
        self._seen = seen
        self._trigger = re.compile(rf"(?<![\w]){re.escape(trigger_word)}(?![\w])", re.IGNORECASE)

    def mentions_trigger(self, text: str) -> bool:
        return self._trigger.search(text) is not None

    def forget(self, event: EventCallback, decision: Decision) -> None:
        """Undoes `consider`'s memory of an event whose job could not be handed over, so Slack's
        retry of it is answered instead of dropped as a duplicate."""
        self._seen.forget(f"event:{event.event_id}")
        if decision.job is not None:
            self._seen.forget(decision.job.job_id)

    def consider(self, event: EventCallback, request_id: str | None = None) -> Decision:
        if not self._seen.first_time(f"event:{event.event_id}"):
            return Decision(None, "duplicate_event")
        if event.is_from_bot:
            return Decision(None, "bot_message")
        answered, _why = SUBTYPES.get(event.subtype, (False, "not known to be a person writing"))
        if not answered:
            return Decision(None, f"subtype_{str(event.subtype)[:50]}")
        if event.edited:
            return Decision(None, "edited")
        if event.user is None or event.user in event.authorized_user_ids:
            return Decision(None, "own_or_anonymous_message")
        is_mention = event.event_type == "app_mention"
        is_dm = event.event_type == "message" and event.channel_type == "im"
        if not (is_mention or is_dm):
            return Decision(None, "not_addressed_to_bot")
        if not (event.channel and event.ts):
            return Decision(None, "no_channel_or_ts")
        question = strip_bot_mention(event.text)
        if not question:
            return Decision(None, "empty_question")
        if not self.mentions_trigger(to_plain(question)):
            return Decision(None, "no_trigger_word")
        job = Job.for_message(
            question=question,
            user_id=event.user,
            channel=event.channel,
            ts=event.ts,
            thread_ts=event.reply_thread_ts or event.ts,
            team_id=event.team_id,
            request_id=request_id,
        )
        if not self._seen.first_time(job.job_id):  # the message, so its mention twin is the same key
            return Decision(None, "duplicate_message")
        return Decision(job, "answer")
