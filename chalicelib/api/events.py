"""Which Events API deliveries deserve an answer, each answered once.

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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from chalicelib.jobs import Job
from chalicelib.slack.requests import EventCallback, strip_bot_mention

DEFAULT_TTL_SECONDS = 60 * 60  # Slack retries within minutes; an hour is ample
DEFAULT_MAX_ENTRIES = 10_000


class SeenEvents(Protocol):
    def first_time(self, key: str) -> bool:
        """Records `key`; True only for the first caller (atomically)."""
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

    def consider(self, event: EventCallback, request_id: str | None = None) -> Decision:
        if not self._seen.first_time(f"event:{event.event_id}"):
            return Decision(None, "duplicate_event")
        if event.is_from_bot:
            return Decision(None, "bot_message")
        if event.user is None or event.user in event.authorized_user_ids:
            return Decision(None, "own_or_anonymous_message")
        if event.subtype is not None:
            return Decision(None, f"subtype_{event.subtype}")  # edits, deletions, joins...
        is_mention = event.event_type == "app_mention"
        is_dm = event.event_type == "message" and event.channel_type == "im"
        if not (is_mention or is_dm):
            return Decision(None, "not_addressed_to_bot")
        if not (event.channel and event.ts):
            return Decision(None, "no_channel_or_ts")
        question = strip_bot_mention(event.text)
        if not question:
            return Decision(None, "empty_question")
        if not self.mentions_trigger(question):
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
