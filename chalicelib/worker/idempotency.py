"""Each job answered once: who may answer a job, and forgetting the claim when the answer did not get out.

Slack and Lambda both deliver at least once, so the same job can reach the worker twice: an event
delivered to two API containers, an @-mention also delivered as a message event (same job id), or
an async invocation retried by AWS. The worker wraps "answer this job" in `AnswerOnce.run`:

- the first caller runs it; a caller finding the job answered, or being answered, gets "duplicate"
  and posts nothing (an in-progress first attempt's own Lambda retry covers its failure);
- when answering raises (the post failed), the claim is dropped, so the retry may answer;
- "failed_answered" (the user was told about an error) is an answer like any other.

`InMemoryAnswerOnce` holds within one container (local mode, tests, the demo).
`DynamoDBAnswerOnce` holds across containers: conditional writes to a DynamoDB table
(`IDEMPOTENCY_TABLE`), keyed on the job id. botocore is imported only when it is built, in the
worker: the API function never loads it. botocore honours AWS_ENDPOINT_URL /
AWS_ENDPOINT_URL_DYNAMODB, which is how the tests point it at a local moto server.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from chalicelib import logs
from chalicelib.aws import LazySession, error_code

if TYPE_CHECKING:
    from chalicelib.config import Settings

_log = logs.get_logger(__name__)
DUPLICATE = "duplicate"
KEY_PREFIX = "whoknows-job"
"""Records are `whoknows-job#<sha256 of the JSON job id>`, the same whatever the function is called."""
# The record's attributes: the table's key and TTL attribute are declared in deploy/merge-template.json.
ID, EXPIRATION, STATUS, IN_PROGRESS_EXPIRATION, DATA = (
    "id",
    "expiration",
    "status",
    "in_progress_expiration",
    "data",
)
INPROGRESS, COMPLETED = "INPROGRESS", "COMPLETED"
DEFAULT_LEASE_SECONDS = 60
"""Without a Lambda context (local mode): how long an in-progress claim blocks others; the worker's
Lambda timeout in .chalice/config.json, so a claim never outlives the invocation that made it."""


class LedgerUnavailable(Exception):
    """The shared record could not be read or written before answering; raised so the job is retried."""


class AnswerOnce(Protocol):
    def run(self, job_id: str, answer: Callable[[], str], context: Any = None) -> str:
        """`answer()`'s outcome for the first caller of `job_id`, else "duplicate" without calling it.

        If `answer` raises, the claim is dropped and the exception propagates. `context` is the
        Lambda context (its remaining time bounds an in-progress claim), or None.
        """
        ...


class InMemoryAnswerOnce:
    """Per container: bounded, so a long-lived container cannot grow without limit."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self._max = max_entries
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def run(self, job_id: str, answer: Callable[[], str], context: Any = None) -> str:
        with self._lock:
            if job_id in self._ids:
                return DUPLICATE
            self._ids[job_id] = None
            while len(self._ids) > self._max:
                self._ids.popitem(last=False)
        try:
            return answer()
        except Exception:
            with self._lock:
                self._ids.pop(job_id, None)
            raise


class _Lease:
    """Stands in for the Lambda context outside Lambda: only its remaining time is read."""

    def __init__(self, seconds: float) -> None:
        self._deadline = time.monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class DynamoDBAnswerOnce:
    """One record per job id in a DynamoDB table, shared by every container.

    The first caller's conditional PutItem writes an INPROGRESS record (its in-progress lease ends
    when its Lambda invocation would time out, so a killed invocation does not block the retry);
    success turns it COMPLETED with UpdateItem; an exception deletes it with DeleteItem. A later
    caller's PutItem fails its condition: the record is INPROGRESS or COMPLETED, which both mean
    "duplicate". Records expire `expiry_seconds` after the answer (DynamoDB TTL on `expiration`
    removes them; an expired one no longer blocks before TTL gets to it).

    The protocol and record are AWS Lambda Powertools' idempotency utility's (its attribute names
    and key), written directly: three conditional writes do not justify its import and boto3's on
    every cold start (~50-60 ms of the worker's; docs/performance.md). Records written by either
    are read the same way.
    """

    def __init__(
        self,
        table_name: str,
        expiry_seconds: int,
        client: Any = None,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
    ) -> None:
        self.table_name = table_name
        self.expiry_seconds = expiry_seconds
        self._lease_seconds = lease_seconds
        self._client = (
            client if client is not None else LazySession().client("dynamodb", config=table_client_config())
        )

    def run(self, job_id: str, answer: Callable[[], str], context: Any = None) -> str:
        key = {ID: {"S": record_key(job_id)}}
        lease = context if hasattr(context, "get_remaining_time_in_millis") else _Lease(self._lease_seconds)
        if not self._claim(key, lease.get_remaining_time_in_millis()):
            return DUPLICATE
        try:
            outcome = answer()
        except Exception:  # the answer did not get out: forget the claim so the retry may answer
            self._forget(key, job_id)
            raise
        self._complete(key, job_id, outcome)
        return outcome

    def _claim(self, key: dict[str, Any], lease_ms: int) -> bool:
        """True when this caller may answer: no live record existed and an INPROGRESS one is written."""
        from botocore.exceptions import BotoCoreError, ClientError

        now = time.time()
        try:
            self._client.put_item(
                TableName=self.table_name,
                Item={
                    **key,
                    EXPIRATION: {"N": str(int(now) + self.expiry_seconds)},
                    STATUS: {"S": INPROGRESS},
                    IN_PROGRESS_EXPIRATION: {"N": str(int(now * 1000) + lease_ms)},
                },
                ConditionExpression=(
                    "attribute_not_exists(#id) OR #expiry < :now OR (#status = :inprogress AND "
                    "attribute_exists(#lease) AND #lease < :now_ms)"
                ),
                ExpressionAttributeNames={
                    "#id": ID,
                    "#expiry": EXPIRATION,
                    "#status": STATUS,
                    "#lease": IN_PROGRESS_EXPIRATION,
                },
                ExpressionAttributeValues={
                    ":now": {"N": str(int(now))},
                    ":now_ms": {"N": str(int(now * 1000))},
                    ":inprogress": {"S": INPROGRESS},
                },
            )
        except (BotoCoreError, ClientError) as error:
            if (
                error_code(error) == "ConditionalCheckFailedException"
            ):  # a live record: answered or being answered
                return False
            raise LedgerUnavailable(
                f"idempotency table {self.table_name}: {logs.error_text(error)}"
            ) from error
        return True

    def _complete(self, key: dict[str, Any], job_id: str, outcome: str) -> None:
        """Posted: a failure here is logged, not raised, as a retry would post again. The INPROGRESS
        record still blocks others until its lease ends."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._client.update_item(
                TableName=self.table_name,
                Key=key,
                UpdateExpression="SET #status = :completed, #expiry = :expiry, #data = :data",
                ExpressionAttributeNames={"#status": STATUS, "#expiry": EXPIRATION, "#data": DATA},
                ExpressionAttributeValues={
                    ":completed": {"S": COMPLETED},
                    ":expiry": {"N": str(int(time.time()) + self.expiry_seconds)},
                    ":data": {"S": json.dumps({"outcome": outcome})},
                },
            )
        except (BotoCoreError, ClientError) as error:
            logs.error(_log, "idempotency_record_not_completed", job_id=job_id, error=logs.error_text(error))

    def _forget(self, key: dict[str, Any], job_id: str) -> None:
        """A record that cannot be deleted blocks the retry until its lease ends: say so loudly."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._client.delete_item(TableName=self.table_name, Key=key)
        except (BotoCoreError, ClientError) as error:
            logs.error(_log, "idempotency_record_not_deleted", job_id=job_id, error=logs.error_text(error))


def record_key(job_id: str) -> str:
    """`whoknows-job#<sha256 of the JSON job id>`: what Powertools wrote for the same job."""
    digest = hashlib.sha256(json.dumps(job_id).encode()).hexdigest()
    return f"{KEY_PREFIX}#{digest}"


def table_client_config() -> Any:
    """Fail within seconds: a slow table must not eat the worker's 60-second budget."""
    from botocore.config import Config

    return Config(connect_timeout=2, read_timeout=3, retries={"mode": "standard", "max_attempts": 3})


def answer_once_from_settings(settings: Settings) -> AnswerOnce:
    """DynamoDB-backed when IDEMPOTENCY_TABLE is set (its client made from the container's shared
    session, `settings.aws`), else per container."""
    if settings.idempotency_table is None:
        return InMemoryAnswerOnce()
    client = settings.aws.client("dynamodb", config=table_client_config())
    return DynamoDBAnswerOnce(settings.idempotency_table, settings.idempotency_expiry_seconds, client=client)
