"""One job's work: compose the answer (or the feedback "thanks"), post it, exactly once.

Whatever fails (no model, a corrupt model, a rejected job) the user is told so in a sentence, and the
cause is logged with the request id. When posting itself fails the failure is logged and raised
(DeliveryFailed), so Lambda retries the async invocation (twice) and then hands it to the on-failure
destination. A job already answered, or being answered, is not answered again
(`chalicelib.worker.idempotency`): within the container by default, across containers when
IDEMPOTENCY_TABLE names a DynamoDB table.
"""

from __future__ import annotations

import threading
from typing import Any

from chalicelib import logs
from chalicelib.config import DEFAULT_CONFIDENCE_THRESHOLD, Settings
from chalicelib.jobs import Job
from chalicelib.model.answer import answer_question
from chalicelib.model.errors import (
    ModelCorrupt,
    ModelLoadError,
    ModelNotFound,
    ModelRejected,
    ModelStoreError,
    ModelUnreachable,
)
from chalicelib.model.holder import LoadedModel, ModelHolder
from chalicelib.model.store import ModelStore
from chalicelib.model.teams import TeamDirectory, TeamDirectoryError
from chalicelib.slack.render import (
    RankedTeam,
    SlackMessage,
    render_answer,
    render_error,
    render_feedback_thanks,
    render_unknown_words,
)
from chalicelib.worker.idempotency import DUPLICATE, AnswerOnce, LedgerUnavailable, answer_once_from_settings

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
    ) -> None:
        self.settings = settings
        self.holder = holder
        self.directory = directory
        self.once = once or answer_once_from_settings(settings)
        self._web_client: Any = None
        self._checked_version: str | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> Worker:
        """The model's first load starts on its thread before the other clients are built."""
        store = ModelStore(settings.model_uri, settings.model_cache_dir, session=settings.aws)
        holder = ModelHolder(store, settings.model_refresh_seconds)
        holder.start_loading()
        return cls(settings, holder, load_directory(settings))

    def handle(self, job: Job, context: Any = None) -> str:
        """Answers `job` once; returns the outcome ("answered", "failed_answered", "duplicate").

        `context` is the Lambda context: its remaining time bounds the job's in-progress claim.
        """
        try:
            outcome = self.once.run(job.job_id, lambda: self._answer(job), context)
        except LedgerUnavailable as error:
            logs.error(_log, "idempotency_unavailable", job_id=job.job_id, error=str(error))
            raise DeliveryFailed(str(error)) from error
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
            model = self.holder.get(timings)
        except Exception as error:
            logs.error(_log, "model_unavailable", error=logs.error_text(error), **fields, **timings)
            return render_error(user_message_for(error)), "failed_answered"
        fields["model_version"] = model.version
        self._check_directory(model.predictor.labels, model.version)
        try:
            with timings.measure("predict"):
                answer = answer_question(model.predictor, job.question, self.confidence_threshold(model))
            if answer.kind == "unknown_words":
                message = render_unknown_words(job.question)
            else:
                teams = [self._ranked(guess.label, guess.probability) for guess in answer.guesses]
                message = render_answer(
                    job.question, teams, answer.threshold, question_id=job.job_id, reasons=answer.because
                )
        except Exception as error:
            logs.error(_log, "predict_failed", exc_info=True, error=logs.error_text(error), **fields)
            return render_error(INTERNAL), "failed_answered"
        top = answer.guesses[0] if answer.guesses else None
        fields.update(answer=answer.kind, top_label=top.label if top else None)
        fields["top_probability"] = round(top.probability, 4) if top else None
        return message, "answered"

    def confidence_threshold(self, model: LoadedModel) -> float:
        """CONFIDENCE_THRESHOLD when the operator set one; else the model's own (chosen at training
        for a target precision); else the default, for a model that recorded none."""
        if self.settings.confidence_threshold is not None:
            return self.settings.confidence_threshold
        chosen = model.manifest.confidence_threshold
        return chosen if chosen is not None else DEFAULT_CONFIDENCE_THRESHOLD

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
