"""What the API function does with each Slack request: verify, parse, answer at once or hand over.

Kept out of app.py so the routes there stay one line each, and testable without Chalice. Nothing here
(or imported from here) loads numpy or onnxruntime: the worker's code is imported only when a job
runs in local mode, on the job's own thread.

Order, for every route: settings (a broken deployment answers 200 with a friendly line, never a 5xx
Slack would show as a failure), then the signature (401, nothing else done), then everything else.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from chalicelib import feedback, logs
from chalicelib.config import ConfigError, SecretUnavailable, Settings, load_settings, reset_settings
from chalicelib.dispatch import Dispatcher, DispatchFailed, Job, LambdaDispatcher, LocalDispatcher
from chalicelib.events import EventFilter, InMemorySeenEvents, SeenEvents
from chalicelib.slack.render import MISCONFIGURED_TEXT, SlackMessage, render_ack, render_error, render_usage
from chalicelib.slack.requests import (
    BadRequest,
    BlockActions,
    EventCallback,
    IgnoredEnvelope,
    IgnoredInteraction,
    UrlVerification,
    parse_event_callback,
    parse_interaction,
    parse_slash_command,
)
from chalicelib.slack.verify import InvalidSignature, verify_request

_log = logs.get_logger(__name__)
RETRY_HEADER = "x-slack-retry-num"
HELP_WORDS = {"help", "?", "-h", "--help"}


@dataclass(frozen=True)
class Reply:
    """An HTTP answer, framework-free: app.py turns it into a chalice.Response."""

    status: int
    body: Any = ""

    @classmethod
    def message(cls, message: SlackMessage) -> Reply:
        return cls(200, message.payload())

    @classmethod
    def error(cls, status: int, text: str) -> Reply:
        return cls(status, {"error": text})


def _local_handler(payload: dict[str, Any]) -> Any:
    from chalicelib.answer import run_job  # the worker's code, on the job's thread only

    return run_job(payload)


class Runtime:
    """Per-container state of the API function, built at the first request from the settings."""

    def __init__(self, settings: Settings, dispatcher: Dispatcher, seen: SeenEvents) -> None:
        self.settings = settings
        self.dispatcher = dispatcher
        self.events = EventFilter(seen, settings.trigger_word)

    @classmethod
    def from_settings(
        cls, settings: Settings, dispatcher: Dispatcher | None = None, seen: SeenEvents | None = None
    ) -> Runtime:
        """The configured dispatcher and event memory, unless given (tests inject their own)."""
        if dispatcher is None and settings.dispatch_mode == "local":
            dispatcher = LocalDispatcher(_local_handler)
        elif dispatcher is None:
            assert settings.worker_function_name is not None
            dispatcher = LambdaDispatcher(settings.worker_function_name, session=settings.aws)
        return cls(settings, dispatcher, seen or InMemorySeenEvents())


_runtime: Runtime | None = None
_overrides: dict[str, Any] = {}
_lock = threading.Lock()


def get_runtime() -> Runtime:
    """Raises ConfigError when the environment is invalid (not cached: a fixed env is picked up)."""
    global _runtime
    with _lock:
        if _runtime is None:
            _runtime = Runtime.from_settings(load_settings(), **_overrides)
        return _runtime


def reset(dispatcher: Dispatcher | None = None, seen: SeenEvents | None = None) -> None:
    """Forget settings and state; tests call it after changing the environment, optionally
    injecting a dispatcher (e.g. a recording one) or a SeenEvents implementation."""
    global _runtime
    reset_settings()
    with _lock:
        _runtime = None
        _overrides.clear()
        if dispatcher is not None:
            _overrides["dispatcher"] = dispatcher
        if seen is not None:
            _overrides["seen"] = seen


def _prepare(route: str, body: bytes, headers: Mapping[str, str], timings: logs.Timings) -> Runtime | Reply:
    """Settings, then the signature. Returns the runtime to go on, or the reply to stop with."""
    try:
        runtime = get_runtime()
        secret = runtime.settings.signing_secret.get()
    except (ConfigError, SecretUnavailable) as error:
        problems = error.problems if isinstance(error, ConfigError) else [str(error)]
        logs.error(_log, "config_invalid", route=route, problems=problems)
        return _misconfigured(route)
    try:
        with timings.measure("verify"):
            verify_request(secret, body, headers)
    except InvalidSignature as error:
        logs.warning(_log, "request_refused", route=route, reason=error.reason, **timings)
        return Reply.error(401, "invalid request signature")
    return runtime


def warm_up() -> None:
    """Lambda's init phase, API function only (see app.py): the settings, the signing secret (an
    SSM call when it is configured there) and the Lambda client, so the first request after a
    cold start acks without them. Best effort: a failure is met again, and reported, by the first
    request."""
    try:
        runtime = get_runtime()
        runtime.settings.signing_secret.get()
        if isinstance(runtime.dispatcher, LambdaDispatcher):
            runtime.dispatcher.connect()
    except Exception as error:
        logs.warning(_log, "warm_up_failed", error=logs.error_text(error))


def _misconfigured(route: str) -> Reply:
    if route == "slash":
        return Reply.message(render_error(MISCONFIGURED_TEXT))
    return Reply(200, {"ok": False})


def slash_command(body: bytes, headers: Mapping[str, str], request_id: str | None = None) -> Reply:
    with logs.request_context(request_id) as rid:
        timings = logs.Timings()
        runtime = _prepare("slash", body, headers, timings)
        if isinstance(runtime, Reply):
            return runtime
        if _is_ssl_check(body):
            logs.info(_log, "ssl_check", **timings)
            return Reply(200, "")
        try:
            command = parse_slash_command(body)
        except BadRequest as error:
            logs.warning(_log, "slash_bad_request", reason=str(error), **timings)
            return Reply.message(render_error(str(error)))
        if not command.text or command.text.lower() in HELP_WORDS:
            logs.info(_log, "slash_usage", **timings)
            return Reply.message(render_usage())
        job = Job.for_slash_command(
            question=command.text,
            user_id=command.user_id,
            response_url=command.response_url,
            trigger_id=command.trigger_id,
            team_id=command.team_id,
            request_id=rid,
        )
        try:
            with timings.measure("dispatch"):
                runtime.dispatcher.dispatch(job)
        except DispatchFailed as error:
            logs.error(_log, "dispatch_failed", job_id=job.job_id, error=str(error), **timings)
            return Reply.message(render_error("I couldn't start looking for an answer; please try again."))
        logs.info(_log, "slash_dispatched", job_id=job.job_id, **timings)
        return Reply.message(render_ack(command.text))


def _is_ssl_check(body: bytes) -> bool:
    try:
        return parse_qs(body.decode("utf-8")).get("ssl_check") == ["1"]
    except UnicodeDecodeError:
        return False


def events(body: bytes, headers: Mapping[str, str], request_id: str | None = None) -> Reply:
    with logs.request_context(request_id) as rid:
        timings = logs.Timings()
        runtime = _prepare("events", body, headers, timings)
        if isinstance(runtime, Reply):
            return runtime
        retry = {name.lower(): value for name, value in headers.items()}.get(RETRY_HEADER)
        if retry is not None:
            # The first delivery was acknowledged (or is being handled): a retry must do nothing.
            logs.info(_log, "event_retry_ignored", retry_num=retry, **timings)
            return Reply(200, {"ok": True})
        try:
            envelope = parse_event_callback(body)
        except BadRequest as error:
            logs.warning(_log, "event_bad_request", reason=str(error), **timings)
            return Reply(200, {"ok": False})  # 2xx: a retry of a malformed body would be as malformed
        if isinstance(envelope, UrlVerification):
            logs.info(_log, "url_verification", **timings)
            return Reply(200, {"challenge": envelope.challenge})
        if isinstance(envelope, IgnoredEnvelope):
            logs.info(_log, "event_ignored", reason=f"envelope_{envelope.envelope_type}", **timings)
            return Reply(200, {"ok": True})
        assert isinstance(envelope, EventCallback)
        decision = runtime.events.consider(envelope, request_id=rid)
        fields = {"event_id": envelope.event_id, "event_type": envelope.event_type, "reason": decision.reason}
        if decision.job is None:
            logs.info(_log, "event_ignored", **fields, **timings)
            return Reply(200, {"ok": True})
        try:
            with timings.measure("dispatch"):
                runtime.dispatcher.dispatch(decision.job)
        except DispatchFailed as error:
            logs.error(
                _log, "dispatch_failed", job_id=decision.job.job_id, error=str(error), **fields, **timings
            )
            return Reply(200, {"ok": False})
        logs.info(_log, "event_dispatched", job_id=decision.job.job_id, **fields, **timings)
        return Reply(200, {"ok": True})


def interactions(body: bytes, headers: Mapping[str, str], request_id: str | None = None) -> Reply:
    """Clicks on our messages' buttons (`block_actions`): verified, parsed, logged; always quick.

    Slack ignores the body of a 200 here; the user is thanked through the click's response_url by
    the worker (a `feedback` job), so this route does no I/O beyond handing the job over. The click
    is recorded by its log line before that, so a failed handover still answers {"ok": true}.
    """
    with logs.request_context(request_id) as rid:
        timings = logs.Timings()
        runtime = _prepare("interactions", body, headers, timings)
        if isinstance(runtime, Reply):
            return runtime
        try:
            interaction = parse_interaction(body)
        except BadRequest as error:
            logs.warning(_log, "interaction_bad_request", reason=str(error), **timings)
            return Reply.error(400, str(error))
        if isinstance(interaction, IgnoredInteraction):
            reason = f"type_{interaction.interaction_type[:50]}"
            logs.info(_log, "interaction_ignored", reason=reason, **timings)
            return Reply(200, {"ok": True})
        assert isinstance(interaction, BlockActions)
        recorded = feedback.record(interaction, **timings)
        job = feedback.confirmation_job(interaction, recorded, request_id=rid)
        if job is not None:
            _hand_over_confirmation(runtime, job, timings)
        return Reply(200, {"ok": True})


def _hand_over_confirmation(runtime: Runtime, job: Job, timings: logs.Timings) -> None:
    """A failed handover costs the user only the "thanks": a warning, not an error (the click is logged)."""
    try:
        with timings.measure("dispatch"):
            runtime.dispatcher.dispatch(job)
    except DispatchFailed as error:
        logs.warning(_log, "feedback_dispatch_failed", job_id=job.job_id, error=str(error), **timings)
        return
    logs.info(_log, "feedback_dispatched", job_id=job.job_id, **timings)
