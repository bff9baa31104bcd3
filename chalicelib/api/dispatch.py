"""Handing a job from the API function to the worker function.

On Lambda the worker is invoked asynchronously (InvocationType="Event"): the API function returns in
tens of milliseconds, and Lambda itself retries a failed async invocation twice and can send what
still fails to an on-failure destination or dead-letter queue (configured at deploy time). Locally
(`chalice local`, tests, the demo) the job runs on a background thread in the same process, so the
acknowledgement still returns before the answer, as it does on Lambda.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any, Protocol

from chalicelib.aws import LazySession, error_code
from chalicelib.jobs import Job


class DispatchFailed(Exception):
    """The job could not be handed over; the message is one loggable line without secrets."""


class Dispatcher(Protocol):
    def dispatch(self, job: Job) -> None:
        """Hands `job` over and returns without waiting for the answer; raises DispatchFailed."""
        ...


class LambdaDispatcher:
    """Async invoke of the worker function; its name comes from configuration (WORKER_FUNCTION_NAME)."""

    def __init__(self, function_name: str, client: Any = None, session: LazySession | None = None) -> None:
        self.function_name = function_name
        self._client = client
        self._session = session or LazySession()
        self._lock = threading.Lock()

    def connect(self) -> None:
        """Builds the Lambda client now (imports and endpoint set-up), not at the first job."""
        self._lambda()

    @property
    def connected(self) -> bool:
        """Whether the Lambda client is built (by `connect()` or the first job)."""
        return self._client is not None

    def _lambda(self) -> Any:
        with self._lock:
            if self._client is None:
                from botocore.config import Config

                config = Config(
                    connect_timeout=1, read_timeout=2, retries={"mode": "standard", "max_attempts": 2}
                )
                self._client = self._session.client("lambda", config=config)
            return self._client

    def dispatch(self, job: Job) -> None:
        payload = json.dumps(job.to_dict()).encode()
        try:
            response = self._lambda().invoke(
                FunctionName=self.function_name, InvocationType="Event", Payload=payload
            )
        except Exception as error:  # botocore's errors, without importing botocore on this path
            reason = type(error).__name__
            code = error_code(error)
            if code and code != reason:  # an error code botocore has no class for: name it
                reason = f"{reason} {code}"
            raise DispatchFailed(f"invoking {self.function_name} failed: {reason}") from error
        status = response.get("StatusCode")
        if status != 202:
            raise DispatchFailed(f"invoking {self.function_name} answered {status}, expected 202")


class LocalDispatcher:
    """Runs jobs on a small pool of long-lived threads: local mode's stand-in for the async invoke.

    A pool, not a thread per job: `Thread.start()` waits until the new thread runs, which hands it
    the GIL in the middle of the acknowledgement (in-process ack p99 3.5 ms vs 1 ms). Handing a job
    to an idle pool thread is a queue put, and the ack finishes before the job takes the GIL.
    The payload goes through JSON exactly as on Lambda, so a job that would not serialise fails here
    too. `join()` lets tests and the demo wait for outstanding jobs.
    """

    def __init__(self, handler: Callable[[dict[str, Any]], Any], workers: int = 4) -> None:
        self._handler = handler
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="whoknows-job")
        self._pending: set[Future[None]] = set()
        self._lock = threading.Lock()

    def dispatch(self, job: Job) -> None:
        payload = json.loads(json.dumps(job.to_dict()))
        future = self._pool.submit(self._run, payload)
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._forget)

    def _forget(self, future: Future[None]) -> None:
        with self._lock:
            self._pending.discard(future)

    def _run(self, payload: dict[str, Any]) -> None:
        # On Lambda the runtime records a raised failure and retries; here the handler logged it.
        with contextlib.suppress(Exception):
            self._handler(payload)

    def join(self, timeout: float = 10.0) -> None:
        with self._lock:
            pending = list(self._pending)
        wait(pending, timeout=timeout)
