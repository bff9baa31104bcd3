"""Where the worker keeps feedback: one record per (answered question, user), so the next model can
learn from it (`python -m export feedback pull`).

A record holds the verdict (right, wrong, corrected), the team the answer suggested, the team the
user picked instead (or UNKNOWN_TEAM), the model version that answered, the time (ISO 8601, UTC),
the workspace and channel ids and, only when the operator enables STORE_FEEDBACK_QUESTIONS, the
question as Slack sent it. Storing is off the question when disabled: a write then also removes a
question kept while it was enabled.

The user's latest click wins, with one exception: "Wrong team" clicked again on an answer already
corrected keeps the correction (the menu it opens may never be used, and the correction is what the
next model learns from).

`DynamoDBFeedbackStore` writes the table the deploy template creates (`FEEDBACK_TABLE`; keys, TTL
on `expires_at` and point-in-time recovery declared there) with UpdateItem only, through the
container's shared botocore session; its client is made at the first click, so a container that only
answers questions never pays for it. A failed write raises FeedbackNotStored: the worker then fails
the job, so Lambda retries it and finally keeps it in the dead-letter queue. Without a table (local
mode, the demo, tests) `InMemoryFeedbackStore` keeps the records in the container's memory.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from chalicelib import logs
from chalicelib.aws import LazySession, error_code
from chalicelib.jobs import Job, Verdict

if TYPE_CHECKING:
    from chalicelib.config import Settings

# The record's attributes. The key (QUESTION_ID, USER_ID) and the TTL attribute (EXPIRES_AT) are
# declared in deploy/merge-template.json; `export feedback pull` writes the others as CSV columns.
QUESTION_ID, USER_ID = "question_id", "user_id"
VERDICT, SUGGESTED_TEAM, CORRECTED_TEAM = "verdict", "suggested_team", "corrected_team"
MODEL_VERSION, TIME, TEAM_ID, CHANNEL_ID = "model_version", "time", "team_id", "channel_id"
QUESTION, EXPIRES_AT = "question", "expires_at"
ATTRIBUTES = (
    QUESTION_ID,
    USER_ID,
    VERDICT,
    SUGGESTED_TEAM,
    CORRECTED_TEAM,
    MODEL_VERSION,
    TIME,
    TEAM_ID,
    CHANNEL_ID,
    QUESTION,
)
"""Every attribute but EXPIRES_AT, in the order `export feedback pull` writes them."""
SECONDS_PER_DAY = 86_400
CORRECTION_KEPT = "correction_kept"
STORED = "stored"


class FeedbackNotStored(Exception):
    """The store could not be written; the message is one loggable line. Raised so the job is retried."""


@dataclass(frozen=True)
class FeedbackRecord:
    question_id: str
    user_id: str
    verdict: Verdict
    suggested_team: str
    time: str
    """When the verdict was given, ISO 8601 in UTC (`2024-06-01T12:00:00Z`)."""
    corrected_team: str | None = None
    model_version: str | None = None
    team_id: str | None = None
    channel_id: str | None = None
    question: str | None = None

    @classmethod
    def from_job(cls, job: Job, at: datetime, keep_question: bool) -> FeedbackRecord:
        """The record a feedback job asks for; the question only when the operator keeps questions."""
        assert job.kind == "feedback" and job.verdict is not None and job.suggested_team is not None
        return cls(
            question_id=job.question,
            user_id=job.user_id,
            verdict=job.verdict,
            suggested_team=job.suggested_team,
            time=iso_utc(at),
            corrected_team=job.corrected_team if job.verdict == "corrected" else None,
            model_version=job.model_version,
            team_id=job.team_id,
            channel_id=job.channel,
            question=job.question_text if keep_question else None,
        )


def iso_utc(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class FeedbackStore(Protocol):
    def save(self, record: FeedbackRecord) -> str:
        """Stores `record` over the user's earlier one for the question; returns STORED, or
        CORRECTION_KEPT when a "wrong" met a correction. Raises FeedbackNotStored."""
        ...


class InMemoryFeedbackStore:
    """Per container, for local mode and the demo: the same rules as the table, nothing durable."""

    def __init__(self, keep_questions: bool = False) -> None:
        self.keep_questions = keep_questions
        self._records: dict[tuple[str, str], FeedbackRecord] = {}
        self._lock = threading.Lock()

    def save(self, record: FeedbackRecord) -> str:
        key = (record.question_id, record.user_id)
        with self._lock:
            earlier = self._records.get(key)
            if record.verdict == "wrong" and earlier is not None and earlier.verdict == "corrected":
                return CORRECTION_KEPT
            self._records[key] = _merged(earlier, record, self.keep_questions)
            return STORED

    def records(self) -> list[FeedbackRecord]:
        with self._lock:
            return list(self._records.values())


def _merged(earlier: FeedbackRecord | None, record: FeedbackRecord, keep_questions: bool) -> FeedbackRecord:
    """What the table's UpdateItem leaves: unknown (None) fields keep their earlier values."""
    if earlier is None:
        return record if keep_questions else replace(record, question=None)
    kept = {
        name: getattr(record, name) if getattr(record, name) is not None else getattr(earlier, name)
        for name in ("model_version", "team_id", "channel_id", "question")
    }
    if not keep_questions:
        kept["question"] = None
    return replace(record, **kept)


class DynamoDBFeedbackStore:
    """The deploy template's feedback table; one UpdateItem per click."""

    def __init__(
        self,
        table_name: str,
        retention_days: int,
        keep_questions: bool,
        client: Any = None,
        clock: Callable[[], float] | None = None,
        session: LazySession | None = None,
    ) -> None:
        self.table_name = table_name
        self.retention_days = retention_days
        self.keep_questions = keep_questions
        self._client = client
        self._session = session or LazySession()
        self._lock = threading.Lock()
        self._clock = clock or (lambda: datetime.now(UTC).timestamp())

    def _dynamodb(self) -> Any:
        from chalicelib.worker.idempotency import table_client_config

        with self._lock:
            if self._client is None:
                self._client = self._session.client("dynamodb", config=table_client_config())
            return self._client

    def save(self, record: FeedbackRecord) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        request = self._update(record)
        try:
            self._dynamodb().update_item(**request)
        except (BotoCoreError, ClientError) as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return CORRECTION_KEPT
            raise FeedbackNotStored(f"feedback table {self.table_name}: {logs.error_text(error)}") from error
        return STORED

    def _update(self, record: FeedbackRecord) -> dict[str, Any]:
        expires_at = int(self._clock()) + self.retention_days * SECONDS_PER_DAY
        values: dict[str, Any] = {
            VERDICT: record.verdict,
            SUGGESTED_TEAM: record.suggested_team,
            TIME: record.time,
            EXPIRES_AT: expires_at,
            MODEL_VERSION: record.model_version,
            TEAM_ID: record.team_id,
            CHANNEL_ID: record.channel_id,
            CORRECTED_TEAM: record.corrected_team,
            QUESTION: record.question if self.keep_questions else None,
        }
        removed = []
        if record.verdict == "right":
            removed.append(CORRECTED_TEAM)  # the user changed their mind: the answer was right
        if not self.keep_questions:
            removed.append(QUESTION)
        assigned = {name: value for name, value in values.items() if value is not None}
        names = {f"#{name}": name for name in [*assigned, *removed]}
        expression = "SET " + ", ".join(f"#{name} = :{name}" for name in assigned)
        if removed:
            expression += " REMOVE " + ", ".join(f"#{name}" for name in removed)
        attribute_values = {f":{name}": _typed(value) for name, value in assigned.items()}
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": {QUESTION_ID: {"S": record.question_id}, USER_ID: {"S": record.user_id}},
            "UpdateExpression": expression,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": attribute_values,
        }
        if record.verdict == "wrong":
            request["ConditionExpression"] = f"attribute_not_exists(#{VERDICT}) OR #{VERDICT} <> :corrected"
            attribute_values[":corrected"] = {"S": "corrected"}
        return request


def _typed(value: str | int) -> dict[str, str]:
    return {"N": str(value)} if isinstance(value, int) else {"S": value}


def feedback_store_from_settings(settings: Settings) -> FeedbackStore:
    """The table when FEEDBACK_TABLE is set (its client from the container's shared session, at the
    first click), else the container's memory."""
    if settings.feedback_table is None:
        return InMemoryFeedbackStore(settings.store_feedback_questions)
    return DynamoDBFeedbackStore(
        settings.feedback_table,
        settings.feedback_retention_days,
        settings.store_feedback_questions,
        session=settings.aws,
    )
