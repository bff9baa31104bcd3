"""Each job answered once: who may answer a job, and forgetting the claim when the answer did not get out.

Slack and Lambda both deliver at least once, so the same job can reach the worker twice: an event
delivered to two API containers, an @-mention also delivered as a message event (same job id), or
an async invocation retried by AWS. The worker wraps "answer this job" in `AnswerOnce.run`:

- the first caller runs it; a caller finding the job answered, or being answered, gets "duplicate"
  and posts nothing (an in-progress first attempt's own Lambda retry covers its failure);
- when answering raises (the post failed), the claim is dropped, so the retry may answer;
- "failed_answered" (the user was told about an error) is an answer like any other.

`InMemoryAnswerOnce` holds within one container (local mode, tests, the demo).
`DynamoDBAnswerOnce` holds across containers: it is AWS Lambda Powertools' idempotency utility on a
DynamoDB table (`IDEMPOTENCY_TABLE`), keyed on the job id. Powertools and boto3 are imported only when
it is built, in the worker: the API function never loads them. boto3 honours AWS_ENDPOINT_URL /
AWS_ENDPOINT_URL_DYNAMODB, which is how the tests point it at a local moto server.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from chalicelib import logs

if TYPE_CHECKING:
    from chalicelib.config import Settings

_log = logs.get_logger(__name__)
DUPLICATE = "duplicate"
KEY_PREFIX = "whoknows-job"
"""Records are `whoknows-job#<sha256 of the JSON job id>`, the same whatever the function is called."""
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
    """Stands in for the Lambda context outside Lambda: Powertools reads only the remaining time."""

    def __init__(self, seconds: float) -> None:
        self._deadline = time.monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class DynamoDBAnswerOnce:
    """Powertools' idempotency utility on DynamoDB: one record per job id, shared by every container.

    The first caller's conditional PutItem writes an INPROGRESS record (expiring when its Lambda
    invocation would time out, so a killed invocation does not block the retry); success turns it
    COMPLETED with UpdateItem; an exception deletes it with DeleteItem. A later caller's PutItem fails
    its condition and gets the record back (GetItem when the response lacks it): INPROGRESS or
    COMPLETED both mean "duplicate". Records expire `expiry_seconds` after the answer (DynamoDB TTL on
    `expiration` removes them; Powertools ignores an expired one before TTL gets to it).
    """

    def __init__(
        self,
        table_name: str,
        expiry_seconds: int,
        client: Any = None,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
    ) -> None:
        from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

        self.table_name = table_name
        self.expiry_seconds = expiry_seconds
        self._lease_seconds = lease_seconds
        self._store = DynamoDBPersistenceLayer(
            table_name=table_name, boto_config=table_client_config(), boto3_client=client
        )

    def run(self, job_id: str, answer: Callable[[], str], context: Any = None) -> str:
        from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
        from aws_lambda_powertools.utilities.idempotency.exceptions import (
            BaseError,
            IdempotencyAlreadyInProgressError,
        )

        answered: list[str] = []

        def answer_job(*, job_id: str) -> dict[str, str]:
            answered.append(answer())
            return {"outcome": answered[0]}

        # A config per call: the Lambda context (or lease) belongs to this invocation only.
        config = IdempotencyConfig(
            expires_after_seconds=self.expiry_seconds,
            raise_on_no_idempotency_key=True,
            hash_function="sha256",
            lambda_context=context
            if hasattr(context, "get_remaining_time_in_millis")
            else _Lease(self._lease_seconds),
            response_hook=lambda response, record: {"outcome": DUPLICATE},  # a COMPLETED record
        )
        guarded = idempotent_function(
            answer_job,
            data_keyword_argument="job_id",
            persistence_store=self._store,
            config=config,
            key_prefix=KEY_PREFIX,
        )
        try:
            return guarded(job_id=job_id)["outcome"]
        except IdempotencyAlreadyInProgressError:
            return DUPLICATE
        except BaseError as error:
            cause = f"{type(error).__name__}: {error}"
            if answered:
                # Posted, but not recorded as COMPLETED: the INPROGRESS record still blocks others
                # until the lease ends. Raising would make Lambda retry and post again.
                logs.error(_log, "idempotency_record_not_completed", job_id=job_id, error=cause)
                return answered[0]
            raise LedgerUnavailable(f"idempotency table {self.table_name}: {cause}") from error


def table_client_config() -> Any:
    """Fail within seconds: a slow table must not eat the worker's 60-second budget."""
    from botocore.config import Config

    return Config(connect_timeout=2, read_timeout=3, retries={"mode": "standard", "max_attempts": 3})


def answer_once_from_settings(settings: Settings) -> AnswerOnce:
    """DynamoDB-backed when IDEMPOTENCY_TABLE is set (its client made from the container's shared
    boto3 session, `settings.aws`), else per container."""
    if settings.idempotency_table is None:
        return InMemoryAnswerOnce()
    client = settings.aws.client("dynamodb", config=table_client_config())
    return DynamoDBAnswerOnce(settings.idempotency_table, settings.idempotency_expiry_seconds, client=client)
