"""Handing a job from the API function to the worker function.

On Lambda the worker is invoked asynchronously (InvocationType="Event"): the API function returns in
tens of milliseconds, and Lambda itself retries a failed async invocation twice and can send what
still fails to an on-failure destination or dead-letter queue (configured at deploy time). Locally
(`chalice local`, tests, the demo) the job runs on a background thread in the same process, so the
acknowledgement still returns before the answer, as it does on Lambda.

A job is a plain JSON object. Its `job_id` is derived from the Slack request (the slash command's
trigger_id; an event's channel and message ts; a feedback click's trigger_id), so a retried or
duplicated job is recognisable.

Kinds: "slash" and "event" (answer a question), "feedback" (confirm a click on an answer's feedback
buttons). Adding a kind does not change JOB_FORMAT: the payload's shape is the same, and a worker
older than the kind refuses it by name ("unknown job kind 'feedback'", logged as job_invalid) while
it keeps answering the kinds it knows. Bumping the format would make an old worker refuse every job
during a deployment.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal, Protocol

from chalicelib.aws_session import LazySession

JOB_FORMAT = 1
KINDS = ("slash", "event", "feedback")
VERDICTS = ("right", "wrong")


class DispatchFailed(Exception):
    """The job could not be handed over; the message is one loggable line without secrets."""


class InvalidJob(ValueError):
    """A payload that is not a job this code understands."""


@dataclass(frozen=True)
class Job:
    job_id: str
    kind: Literal["slash", "event", "feedback"]
    question: str
    """Slash and event jobs: the question asked. Feedback jobs: the answered question's id (its job
    id, as the button carries it; the click does not carry the text)."""
    user_id: str
    request_id: str | None = None
    """The API request that created the job, so worker lines can be joined to it."""
    response_url: str | None = None
    """Slash commands and feedback clicks: where the reply goes. A credential: never log it."""
    channel: str | None = None
    """Events: the conversation to answer in."""
    thread_ts: str | None = None
    """Events: the thread to answer in."""
    team_id: str | None = None
    verdict: Literal["right", "wrong"] | None = None
    """Feedback: whether the user said the suggested team was right."""
    suggested_team: str | None = None
    """Feedback: the team label the answer proposed (from the button)."""

    def __post_init__(self) -> None:
        if self.kind in ("slash", "feedback") and not self.response_url:
            raise InvalidJob(f"a {self.kind} job needs a response_url")
        if self.kind == "event" and not (self.channel and self.thread_ts):
            raise InvalidJob("an event job needs a channel and a thread_ts")
        if self.kind == "feedback" and self.verdict not in VERDICTS:
            raise InvalidJob(f"a feedback job's verdict must be 'right' or 'wrong', got {self.verdict!r}")
        if self.kind == "feedback" and not self.suggested_team:
            raise InvalidJob("a feedback job needs a suggested_team")

    def to_dict(self) -> dict[str, Any]:
        return {"format": JOB_FORMAT, **asdict(self)}

    @classmethod
    def from_dict(cls, data: Any) -> Job:
        if not isinstance(data, dict):
            raise InvalidJob("a job must be a JSON object")
        if data.get("format") != JOB_FORMAT:
            raise InvalidJob(f"unsupported job format {data.get('format')!r}, expected {JOB_FORMAT}")
        names = {f.name for f in fields(cls)}
        for required in ("job_id", "kind", "question", "user_id"):
            if not isinstance(data.get(required), str) or not data[required]:
                raise InvalidJob(f"job field {required!r} must be a non-empty string")
        if data["kind"] not in KINDS:
            raise InvalidJob(
                f"unknown job kind {data['kind']!r} (this worker handles {', '.join(KINDS)}; "
                "is it older than the API function?)"
            )
        for name in names:
            if data.get(name) is not None and not isinstance(data[name], str):
                raise InvalidJob(f"job field {name!r} must be a string")
        return cls(**{name: data.get(name) for name in names})

    @classmethod
    def for_slash_command(
        cls,
        *,
        question: str,
        user_id: str,
        response_url: str,
        trigger_id: str | None,
        team_id: str | None = None,
        request_id: str | None = None,
    ) -> Job:
        # trigger_id is unique per invocation; without it, the response_url is (hashed: it is secret).
        basis = trigger_id or _secret_basis(response_url)
        return cls(
            job_id=f"slash:{basis}",
            kind="slash",
            question=question,
            user_id=user_id,
            request_id=request_id,
            response_url=response_url,
            team_id=team_id,
        )

    @classmethod
    def for_message(
        cls,
        *,
        question: str,
        user_id: str,
        channel: str,
        ts: str,
        thread_ts: str,
        team_id: str | None = None,
        request_id: str | None = None,
    ) -> Job:
        # The message, not the event: an @-mention also delivered as a message event is one job.
        return cls(
            job_id=f"message:{team_id or '-'}:{channel}:{ts}",
            kind="event",
            question=question,
            user_id=user_id,
            request_id=request_id,
            channel=channel,
            thread_ts=thread_ts,
            team_id=team_id,
        )

    @classmethod
    def for_feedback(
        cls,
        *,
        verdict: Literal["right", "wrong"],
        question_id: str,
        suggested_team: str,
        user_id: str,
        response_url: str,
        trigger_id: str | None,
        action_ts: str | None = None,
        team_id: str | None = None,
        request_id: str | None = None,
    ) -> Job:
        """A confirmation of one click. Slack's retried delivery of the click carries the same
        trigger_id (and action_ts), so it makes the same job, which the worker confirms once."""
        if trigger_id:
            basis = trigger_id
        elif action_ts:
            basis = f"{team_id or '-'}:{action_ts}"
        else:  # the response_url is unique per click too (hashed: it is secret)
            basis = _secret_basis(response_url)
        return cls(
            job_id=f"feedback:{basis}",
            kind="feedback",
            question=question_id,
            user_id=user_id,
            request_id=request_id,
            response_url=response_url,
            team_id=team_id,
            verdict=verdict,
            suggested_team=suggested_team,
        )


def _secret_basis(response_url: str) -> str:
    """A job id part from a response_url, which is a credential: hashed, never used as is."""
    return hashlib.sha256(response_url.encode()).hexdigest()[:32]


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
            code = getattr(error, "response", {}).get("Error", {}).get("Code")
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
