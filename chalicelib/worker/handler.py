"""The worker function's body: one job in, a small summary out; one Worker per container.

`run_job` is what app.py's worker function (and local mode's dispatcher) calls. It raises
DeliveryFailed when the answer did not get out, so Lambda retries the async invocation.
"""

from __future__ import annotations

import threading
from typing import Any

from chalicelib import logs
from chalicelib.config import ConfigError, load_settings
from chalicelib.jobs import InvalidJob, Job
from chalicelib.slack.render import MISCONFIGURED_TEXT, render_error
from chalicelib.worker.worker import DeliveryFailed, Worker

_log = logs.get_logger(__name__)

_worker: Worker | None = None
_worker_lock = threading.Lock()


def get_worker() -> Worker:
    """One worker per container: the model stays loaded between invocations."""
    global _worker
    with _worker_lock:
        if _worker is None:
            _worker = Worker.from_settings(load_settings())
        return _worker


def reset_worker() -> None:
    """Forgets the container's worker (tests change settings between cases)."""
    global _worker
    with _worker_lock:
        _worker = None


def run_job(payload: Any, request_id: str | None = None, context: Any = None) -> dict[str, Any]:
    """The worker function's body: returns a small summary; raises DeliveryFailed to be retried.

    `context` is the Lambda context when there is one (see `Worker.handle`)."""
    with logs.request_context(request_id):
        try:
            job = Job.from_dict(payload)
        except InvalidJob as error:
            # Nowhere to reply to that we can trust; retrying would fail the same way.
            logs.error(_log, "job_invalid", error=str(error))
            return {"outcome": "invalid"}
        try:
            worker = get_worker()
        except ConfigError as error:
            logs.error(_log, "config_invalid", problems=error.problems, job_id=job.job_id)
            if job.kind == "feedback":  # a click must not be lost: retried, then kept in the queue
                raise DeliveryFailed("the worker is misconfigured; the feedback was not stored") from None
            _tell_misconfigured(job)
            return {"outcome": "misconfigured", "job_id": job.job_id}
        # DeliveryFailed (including an unreadable bot token) propagates: Lambda retries the job.
        return {"outcome": worker.handle(job, context), "job_id": job.job_id}


def _tell_misconfigured(job: Job) -> None:
    """Best effort with Slack's hosts only: the settings that would widen them are what is broken."""
    if job.kind not in ("slash", "teams") or job.response_url is None:
        return
    from chalicelib.slack.post import PostFailed, post_to_response_url

    try:
        post_to_response_url(job.response_url, render_error(MISCONFIGURED_TEXT))
    except PostFailed as error:
        logs.error(_log, "misconfigured_notice_failed", error=error.reason, job_id=job.job_id)
