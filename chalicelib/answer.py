"""The worker's job: a question in, the teams that can answer it out, posted where it was asked;
or, for a `feedback` job, a short ephemeral "thanks" to the user who clicked a feedback button.

`run_job(payload, request_id)` is the worker function's whole body. Whatever fails (no model, a
corrupt model, a rejected job) the user is told so in a sentence, and the cause is logged with the
request id. When posting itself fails the failure is logged and raised, so Lambda retries the async
invocation (twice) and then hands it to the on-failure destination. A job already answered, or being
answered, is not answered again (`chalicelib.idempotency`): within the container by default, across
containers when IDEMPOTENCY_TABLE names a DynamoDB table.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from chalicelib import gc_hold, logs
from chalicelib.cold_load import ColdLoad, cold_load_for, forget_begun_load
from chalicelib.config import ConfigError, Settings, load_settings
from chalicelib.dispatch import InvalidJob, Job
from chalicelib.idempotency import DUPLICATE, AnswerOnce, LedgerUnavailable, answer_once_from_settings
from chalicelib.model import LoadedModel, ModelHolder, ModelLoadError, ModelRejected
from chalicelib.model_store import ModelCorrupt, ModelNotFound, ModelStoreError, ModelUnreachable
from chalicelib.slack.render import (
    MAX_TEAMS_SHOWN,
    MISCONFIGURED_TEXT,
    RankedTeam,
    SlackMessage,
    render_answer,
    render_error,
    render_feedback_thanks,
)
from chalicelib.teams import TeamDirectory, TeamDirectoryError

_log = logs.get_logger(__name__)

NO_MODEL = "no team-prediction model has been published yet; ask your admin to publish one."
CORRUPT_MODEL = (
    "the published team-prediction model failed its integrity check, so I won't use it; "
    "your admin has been told in the logs."
)
MODEL_UNREACHABLE = "I can't reach the team-prediction model right now; please try again in a few minutes."
MODEL_BROKEN = "the team-prediction model could not be loaded; your admin has been told in the logs."
INTERNAL = "something went wrong on my side; please try again."


class DeliveryFailed(Exception):
    """The reply could not be posted; raised so the async invocation is retried."""


def user_message_for(error: Exception) -> str:
    """The sentence a user sees for a model failure; the details go to the log."""
    if isinstance(error, ModelNotFound):
        return NO_MODEL
    if isinstance(error, ModelCorrupt):
        return CORRUPT_MODEL
    if isinstance(error, ModelUnreachable):
        return MODEL_UNREACHABLE
    if isinstance(error, ModelStoreError | ModelRejected | ModelLoadError):
        return MODEL_BROKEN
    return INTERNAL


class Worker:
    def __init__(
        self,
        settings: Settings,
        holder: ModelHolder,
        directory: TeamDirectory,
        once: AnswerOnce | None = None,
        cold_load: ColdLoad | None = None,
    ) -> None:
        self.settings = settings
        self.holder = holder
        self.directory = directory
        self._cold_load = cold_load
        self.once = once or answer_once_from_settings(settings)
        self._web_client: Any = None
        self._checked_version: str | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> Worker:
        """The model loads (chalicelib.cold_load) while the idempotency layer is built."""
        holder, cold_load = cold_load_for(settings)
        return cls(settings, holder, load_directory(settings), cold_load=cold_load)

    def model(self, timings: logs.Timings) -> LoadedModel:
        """The model to answer with: the cold load's outcome the first time, the holder's after."""
        cold_load = self._take_cold_load()
        if cold_load is not None:
            return cold_load.result(timings)
        return self.holder.get(timings)

    def _take_cold_load(self) -> ColdLoad | None:
        with self._lock:
            cold_load, self._cold_load = self._cold_load, None
        return cold_load

    def handle(self, job: Job, context: Any = None) -> str:
        """Answers `job` once; returns the outcome ("answered", "failed_answered", "duplicate").

        `context` is the Lambda context: its remaining time bounds the job's in-progress claim.
        """
        try:
            outcome = self.once.run(job.job_id, lambda: self._answer(job), context)
        except LedgerUnavailable as error:
            logs.error(_log, "idempotency_unavailable", job_id=job.job_id, error=str(error))
            raise DeliveryFailed(str(error)) from error
        finally:
            # The cold load's outcome is for the job that started it. When that job needed no model
            # (a feedback click, a duplicate), a later question must not inherit a failure from
            # before it arrived: it asks the holder, which keeps a model the load did get.
            self._take_cold_load()
        if outcome == DUPLICATE:
            logs.info(_log, "job_duplicate", job_id=job.job_id, origin_request_id=job.request_id)
        return outcome

    def _answer(self, job: Job) -> str:
        """Composes and posts; raises DeliveryFailed (so the claim is dropped) when posting fails."""
        timings = logs.Timings()
        fields: dict[str, Any] = {"job_id": job.job_id, "kind": job.kind, "origin_request_id": job.request_id}
        try:
            message, outcome = self._compose(job, timings, fields)
            with timings.measure("post"):
                self._deliver(job, message)
        except Exception as error:
            logs.error(_log, "job_post_failed", error=logs.error_text(error), **fields, **timings)
            raise DeliveryFailed(str(error)) from error
        logs.info(_log, "job_done", outcome=outcome, **fields, **timings)
        return outcome

    def _compose(self, job: Job, timings: logs.Timings, fields: dict[str, Any]) -> tuple[SlackMessage, str]:
        if job.kind == "feedback":
            return self._confirm_feedback(job, fields)
        try:
            model = self.model(timings)
        except Exception as error:
            logs.error(_log, "model_unavailable", error=logs.error_text(error), **fields, **timings)
            return render_error(user_message_for(error)), "failed_answered"
        fields["model_version"] = model.version
        self._check_directory(model.predictor.labels, model.version)
        try:
            with timings.measure("predict"):
                guesses = model.predictor.rank(job.question, top=MAX_TEAMS_SHOWN)
            teams = [self._ranked(guess.label, guess.probability) for guess in guesses]
            message = render_answer(
                job.question, teams, self.settings.confidence_threshold, question_id=job.job_id
            )
        except Exception as error:
            logs.error(_log, "predict_failed", exc_info=True, error=logs.error_text(error), **fields)
            return render_error(INTERNAL), "failed_answered"
        fields["top_label"] = guesses[0].label if guesses else None
        fields["top_probability"] = round(guesses[0].probability, 4) if guesses else None
        return message, "answered"

    def _confirm_feedback(self, job: Job, fields: dict[str, Any]) -> tuple[SlackMessage, str]:
        """No model: the click already says which team; the directory gives the name the user saw."""
        assert job.verdict is not None and job.suggested_team is not None
        fields.update(verdict=job.verdict, question_id=job.question, suggested_team=job.suggested_team)
        team = self.directory.lookup(job.suggested_team)
        return render_feedback_thanks(job.verdict, team.display_name or team.label), "answered"

    def _ranked(self, label: str, probability: float) -> RankedTeam:
        team = self.directory.lookup(label)
        return RankedTeam(
            label=label,
            probability=min(1.0, max(0.0, probability)),
            display_name=team.display_name,
            channel=team.channel,
            user_group=team.user_group,
        )

    def _check_directory(self, labels: tuple[str, ...], version: str) -> None:
        """Once per model version: mismatches are warnings for the publisher, never failures."""
        if self._checked_version == version:
            return
        self._checked_version = version
        for problem in self.directory.problems(labels):
            logs.warning(_log, "team_directory_mismatch", model_version=version, problem=problem)

    def _deliver(self, job: Job, message: SlackMessage) -> None:
        from chalicelib.slack.post import post_in_thread, post_to_response_url

        if job.kind in ("slash", "feedback"):
            assert job.response_url is not None
            post_to_response_url(job.response_url, message, self.settings.response_url_hosts)
        else:
            assert job.channel is not None and job.thread_ts is not None
            post_in_thread(self._client(), job.channel, job.thread_ts, message)

    def _client(self) -> Any:
        from chalicelib.slack.post import make_web_client

        with self._lock:
            if self._web_client is None:
                self._web_client = make_web_client(
                    self.settings.bot_token.get(), base_url=self.settings.slack_api_base_url
                )
            return self._web_client


def load_directory(settings: Settings) -> TeamDirectory:
    """The configured directory; an unreadable one is logged and answers fall back to bare labels."""
    if settings.team_directory is None:
        logs.warning(_log, "team_directory_missing", hint="set TEAM_DIRECTORY to show channels and groups")
        return TeamDirectory.empty()
    try:
        return TeamDirectory.load(settings.team_directory)
    except TeamDirectoryError as error:
        logs.error(_log, "team_directory_invalid", error=str(error))
        return TeamDirectory.empty()


_worker: Worker | None = None
_worker_lock = threading.Lock()


def get_worker() -> Worker:
    """One worker per container: the model stays loaded between invocations."""
    global _worker
    with _worker_lock:
        if _worker is None:
            _worker = Worker.from_settings(load_settings())
        return _worker


def warm_up() -> None:
    """Lambda's init phase, worker function only (see app.py): the imports, clients, bot token and
    model the first job needs, done before any job arrives.

    AWS's advice is to initialise outside the handler, and the init phase runs with more CPU than
    a small function's invocations get. Nothing here is required: a failure is logged and left to
    the first job, which meets it again and tells the user as usual.
    """
    timings = logs.Timings()
    try:
        with gc_hold.held(), timings.measure("warm_up"):
            worker = get_worker()  # the model starts loading on a thread (ColdLoad); meanwhile:
            from chalicelib.slack import post  # noqa: F401

            with timings.measure("bot_token"):  # @-mention answers need it: an SSM call if kept there
                worker.settings.bot_token.get()
            worker.model(timings)
    except Exception as error:
        logs.warning(_log, "warm_up_failed", error=logs.error_text(error), **timings)
        return
    logs.info(_log, "warm_up_done", **timings)


@contextlib.contextmanager
def _held_while_cold() -> Iterator[None]:
    """Collection held off while the first job builds the worker and loads the model (gc_hold)."""
    if _worker is not None:  # warm: nothing long-lived is built
        yield
        return
    with gc_hold.held():
        yield


def reset_worker() -> None:
    """Forgets the container's worker and any model load begun for it (tests change settings)."""
    global _worker
    with _worker_lock:
        _worker = None
    forget_begun_load()


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
        with _held_while_cold():
            try:
                worker = get_worker()
            except ConfigError as error:
                logs.error(_log, "config_invalid", problems=error.problems, job_id=job.job_id)
                _tell_misconfigured(job)
                return {"outcome": "misconfigured", "job_id": job.job_id}
            # DeliveryFailed (including an unreadable bot token) propagates: Lambda retries the job.
            return {"outcome": worker.handle(job, context), "job_id": job.job_id}


def _tell_misconfigured(job: Job) -> None:
    """Best effort with Slack's hosts only: the settings that would widen them are what is broken."""
    if job.kind != "slash" or job.response_url is None:
        return
    from chalicelib.slack.post import PostFailed, post_to_response_url

    try:
        post_to_response_url(job.response_url, render_error(MISCONFIGURED_TEXT))
    except PostFailed as error:
        logs.error(_log, "misconfigured_notice_failed", error=error.reason, job_id=job.job_id)
