"""What the API function does with each Slack request: verify, parse, answer at once or hand over.

Kept out of app.py so the routes there stay one line each, and testable without Chalice. Every route
starts the same way (`verified`): the signature first (401, nothing else done), checked whenever the
signing secret can be read, even when another setting is broken; only a verified request learns that
the deployment is misconfigured (200 with a friendly line, never a 5xx Slack would show as a
failure). Without a readable secret nothing can be verified, so nothing is said: an empty 200.
Only then does the route's own code run.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from chalicelib import logs
from chalicelib.api import feedback
from chalicelib.api.dispatch import DispatchFailed
from chalicelib.api.runtime import Runtime, get_runtime
from chalicelib.config import ConfigError, Secret, SecretUnavailable, load_signing_secret
from chalicelib.jobs import Job
from chalicelib.slack.render import (
    MISCONFIGURED_TEXT,
    SlackMessage,
    render_ack,
    render_error,
    render_teams_ack,
    render_usage,
)
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
from chalicelib.slack.urls import UnsafeResponseUrl, check_response_url
from chalicelib.slack.verify import InvalidSignature, verify_request

_log = logs.get_logger(__name__)
RETRY_NUM_HEADER = "x-slack-retry-num"
RETRY_REASON_HEADER = "x-slack-retry-reason"
HELP_WORDS = {"help", "?", "-h", "--help"}
TEAMS_WORDS = {"teams"}
"""`/whoknows teams`: the teams the bot knows, listed by the worker (it has the model)."""
NO_WAY_BACK = (
    "this request's response_url is not one of Slack's addresses, so my answer could not reach you. "
    "If you use a proxy or a test tool, send the response_url Slack gave it."
)


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


@dataclass(frozen=True)
class Request:
    """A request whose signature has been verified, with what a route needs to handle it."""

    runtime: Runtime
    body: bytes
    headers: Mapping[str, str]
    request_id: str
    timings: logs.Timings


Route = Callable[[bytes, Mapping[str, str], str | None], Reply]


def verified(route: str) -> Callable[[Callable[[Request], Reply]], Route]:
    """Every route's preamble: the request id for its log lines, the signature, the settings."""

    def decorate(handle: Callable[[Request], Reply]) -> Route:
        @functools.wraps(handle)
        def run(body: bytes, headers: Mapping[str, str], request_id: str | None = None) -> Reply:
            with logs.request_context(request_id) as rid:
                timings = logs.Timings()
                runtime = _prepare(route, body, headers, timings)
                if isinstance(runtime, Reply):
                    return runtime
                return handle(Request(runtime, body, headers, rid, timings))

        return run

    return decorate


def _prepare(route: str, body: bytes, headers: Mapping[str, str], timings: logs.Timings) -> Runtime | Reply:
    """The signature, then the settings. Returns the runtime to go on, or the reply to stop with."""
    runtime: Runtime | None = None
    problems: list[str] = []
    try:
        runtime = get_runtime()
        secret: Secret = runtime.settings.signing_secret
    except ConfigError as error:
        problems = error.problems
        try:
            secret = load_signing_secret()
        except ConfigError as secret_error:
            logs.error(_log, "config_invalid", route=route, problems=secret_error.problems)
            return Reply(200, "")  # nothing verifiable: tell no one anything
    try:
        secret_value = secret.get()
    except SecretUnavailable as error:
        logs.error(_log, "config_invalid", route=route, problems=[*problems, str(error)])
        return Reply(200, "")
    try:
        with timings.measure("verify"):
            verify_request(secret_value, body, headers)
    except InvalidSignature as error:
        logs.warning(_log, "request_refused", route=route, reason=error.reason, **timings)
        return Reply.error(401, "invalid request signature")
    if runtime is None:
        logs.error(_log, "config_invalid", route=route, problems=problems)
        return _misconfigured(route)
    return runtime


def _misconfigured(route: str) -> Reply:
    if route == "slash":
        return Reply.message(render_error(MISCONFIGURED_TEXT))
    return Reply(200, {"ok": False})


def _hand_over(
    request: Request, job: Job, handed_event: str, failed_event: str = "dispatch_failed", **fields: Any
) -> bool:
    """Hands `job` to the worker and logs the outcome; False when it failed (logged as an error: a
    question goes unanswered, or a click is not stored and remains only in its `feedback` line)."""
    try:
        with request.timings.measure("dispatch"):
            request.runtime.dispatcher.dispatch(job)
    except DispatchFailed as error:
        logs.error(_log, failed_event, job_id=job.job_id, error=str(error), **fields, **request.timings)
        return False
    logs.info(_log, handed_event, job_id=job.job_id, **fields, **request.timings)
    return True


@verified("slash")
def slash_command(request: Request) -> Reply:
    timings = request.timings
    if _is_ssl_check(request.body):
        logs.info(_log, "ssl_check", **timings)
        return Reply(200, "")
    try:
        command = parse_slash_command(request.body)
    except BadRequest as error:
        logs.warning(_log, "slash_bad_request", reason=str(error), **timings)
        return Reply.message(render_error(str(error)))
    if not command.text or command.text.lower() in HELP_WORDS:
        logs.info(_log, "slash_usage", **timings)
        return Reply.message(render_usage())
    try:
        check_response_url(command.response_url, request.runtime.settings.response_url_hosts)
    except UnsafeResponseUrl as error:
        logs.warning(_log, "slash_bad_request", reason=error.reason, **timings)
        return Reply.message(render_error(NO_WAY_BACK))
    if command.text.lower() in TEAMS_WORDS:
        teams = Job.for_teams(
            word=command.text.lower(),
            user_id=command.user_id,
            response_url=command.response_url,
            trigger_id=command.trigger_id,
            team_id=command.team_id,
            request_id=request.request_id,
        )
        if not _hand_over(request, teams, "teams_dispatched"):
            return Reply.message(render_error("I couldn't start listing the teams; please try again."))
        return Reply.message(render_teams_ack())
    job = Job.for_slash_command(
        question=command.text,
        user_id=command.user_id,
        response_url=command.response_url,
        trigger_id=command.trigger_id,
        team_id=command.team_id,
        request_id=request.request_id,
    )
    if not _hand_over(request, job, "slash_dispatched"):
        return Reply.message(render_error("I couldn't start looking for an answer; please try again."))
    return Reply.message(render_ack(command.text))


def _retry_fields(headers: Mapping[str, str]) -> dict[str, str]:
    """`retry_num` and `retry_reason` for the log line, when Slack says this is a retry."""
    lowered = {name.lower(): value for name, value in headers.items()}
    fields = {}
    if RETRY_NUM_HEADER in lowered:
        fields["retry_num"] = lowered[RETRY_NUM_HEADER][:20]
    if RETRY_REASON_HEADER in lowered:
        fields["retry_reason"] = lowered[RETRY_REASON_HEADER][:50]
    return fields


def _is_ssl_check(body: bytes) -> bool:
    try:
        return parse_qs(body.decode("utf-8")).get("ssl_check") == ["1"]
    except UnicodeDecodeError:
        return False


@verified("events")
def events(request: Request) -> Reply:
    """Events API deliveries. A retry (X-Slack-Retry-Num) is handled like any delivery: it may be
    the only one that arrived. One that did arrive is answered once all the same: this container's
    memory stops a repeated event_id, and the worker answers each job id once across containers."""
    timings = request.timings
    retry = _retry_fields(request.headers)
    try:
        envelope = parse_event_callback(request.body)
    except BadRequest as error:
        logs.warning(_log, "event_bad_request", reason=str(error), **retry, **timings)
        return Reply(200, {"ok": False})  # 2xx: a retry of a malformed body would be as malformed
    if isinstance(envelope, UrlVerification):
        logs.info(_log, "url_verification", **timings)
        return Reply(200, {"challenge": envelope.challenge})
    if isinstance(envelope, IgnoredEnvelope):
        reason = f"envelope_{envelope.envelope_type[:50]}"
        logs.info(_log, "event_ignored", reason=reason, **retry, **timings)
        return Reply(200, {"ok": True})
    assert isinstance(envelope, EventCallback)
    decision = request.runtime.events.consider(envelope, request_id=request.request_id)
    fields = {
        "event_id": envelope.event_id,
        "event_type": envelope.event_type,
        "reason": decision.reason,
        **retry,
    }
    if decision.job is None:
        logs.info(_log, "event_ignored", **fields, **timings)
        return Reply(200, {"ok": True})
    if not _hand_over(request, decision.job, "event_dispatched", **fields):
        # Not a 2xx: Slack retries the delivery (up to three times), and this container answers it.
        request.runtime.events.forget(envelope, decision)
        return Reply.error(503, "could not hand the question over; retry")
    return Reply(200, {"ok": True})


@verified("interactions")
def interactions(request: Request) -> Reply:
    """Clicks on our messages' buttons and menu (`block_actions`): verified, parsed, logged; always
    quick.

    Slack ignores the body of a 200 here; the worker (a `feedback` job) stores the click and answers
    through its response_url ("thanks", or for "Wrong team" the menu asking which team was right),
    so this route does no I/O beyond handing the job over. The click is logged before that, so a
    failed handover still answers {"ok": true} and the log line remains.
    """
    timings = request.timings
    try:
        interaction = parse_interaction(request.body)
    except BadRequest as error:
        logs.warning(_log, "interaction_bad_request", reason=str(error), **timings)
        return Reply.error(400, str(error))
    if isinstance(interaction, IgnoredInteraction):
        reason = f"type_{interaction.interaction_type[:50]}"
        logs.info(_log, "interaction_ignored", reason=reason, **timings)
        return Reply(200, {"ok": True})
    assert isinstance(interaction, BlockActions)
    recorded = feedback.record(interaction, **timings)
    job = feedback.confirmation_job(
        interaction,
        recorded,
        request_id=request.request_id,
        keep_questions=request.runtime.settings.store_feedback_questions,
    )
    if job is None:
        return Reply(200, {"ok": True})
    try:
        check_response_url(job.response_url or "", request.runtime.settings.response_url_hosts)
    except UnsafeResponseUrl as error:  # not a click Slack sent: logged above, neither stored nor thanked
        logs.warning(_log, "interaction_bad_request", reason=error.reason, **timings)
        return Reply(200, {"ok": True})
    _hand_over(request, job, "feedback_dispatched", "feedback_dispatch_failed")
    return Reply(200, {"ok": True})
