"""One job's work: compose the answer (or store a feedback click and confirm it, or list the teams),
post it, exactly once.

Whatever fails (no model, a corrupt model, a rejected job) the user is told so in a sentence, and the
cause is logged with the request id. When posting itself fails the failure is logged and raised
(DeliveryFailed), so Lambda retries the async invocation (twice) and then hands it to the on-failure
destination. A job already answered, or being answered, is not answered again
(`chalicelib.worker.idempotency`): within the container by default, across containers when
IDEMPOTENCY_TABLE names a DynamoDB table. A feedback click is stored before it is confirmed; a store
that cannot be written fails the job like a failed post (DeliveryFailed), so the click is retried
and finally kept in the dead-letter queue, never dropped.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from chalicelib import logs
from chalicelib.config import Settings
from chalicelib.jobs import UNKNOWN_TEAM, Job
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
    render_correction_menu,
    render_correction_thanks,
    render_error,
    render_feedback_thanks,
    render_teams,
    render_unknown_words,
)
from chalicelib.worker.feedback_store import (
    FeedbackNotStored,
    FeedbackRecord,
    FeedbackStore,
    feedback_store_from_settings,
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
        feedback: FeedbackStore | None = None,
    ) -> None:
        self.settings = settings
        self.holder = holder
        self.directory = directory
        self.once = once or answer_once_from_settings(settings)
        self.feedback = feedback or feedback_store_from_settings(settings)
        self._web_client: Any = None
        self._checked: tuple[str, TeamDirectory] | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> Worker:
        """The model's first load starts on its thread before the other clients are built."""
        store = ModelStore(settings.model_uri, settings.model_cache_dir, session=settings.aws)
        holder = ModelHolder(
            store, settings.model_refresh_seconds, ticket_index=settings.show_similar_tickets
        )
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
        """Composes and posts; raises DeliveryFailed (so the claim is dropped and Lambda retries) when
        posting fails or a click cannot be stored. Any other failure to compose is told to the user."""
        timings = logs.Timings()
        fields: dict[str, Any] = {"job_id": job.job_id, "kind": job.kind, "origin_request_id": job.request_id}
        try:
            message, outcome = self._compose(job, timings, fields)
        except FeedbackNotStored as error:
            logs.error(_log, "feedback_store_failed", error=str(error), **fields, **timings)
            raise DeliveryFailed(str(error)) from error
        except Exception as error:  # a bug, not the user's: they still hear something
            logs.error(_log, "compose_failed", exc_info=True, error=logs.error_text(error), **fields)
            message, outcome = render_error(INTERNAL), "failed_answered"
        try:
            with timings.measure("post"):
                self._deliver(job, message)
        except Exception as error:
            logs.error(_log, "job_post_failed", error=logs.error_text(error), **fields, **timings)
            raise DeliveryFailed(str(error)) from error
        logs.info(_log, "job_done", outcome=outcome, **fields, **timings)
        return outcome

    def _compose(self, job: Job, timings: logs.Timings, fields: dict[str, Any]) -> tuple[SlackMessage, str]:
        if job.kind == "feedback":
            return self._store_feedback(job, timings, fields)
        model = self._model(timings, fields)
        if not isinstance(model, LoadedModel):
            return model
        if job.kind == "teams":
            return self._list_teams(model, fields)
        directory = self._directory_for(model)
        self._check_directory(directory, model.predictor.labels, model.version)
        try:
            with timings.measure("predict"):
                index = model.index if self.settings.show_similar_tickets else None
                answer = answer_question(
                    model.predictor, job.question, self.confidence_threshold(model), index=index
                )
            if answer.kind == "unknown_words":
                message = render_unknown_words(job.question)
            else:
                teams = [self._ranked(directory, guess.label, guess.probability) for guess in answer.guesses]
                message = render_answer(
                    job.question,
                    teams,
                    answer.threshold,
                    question_id=job.job_id,
                    reasons=answer.because,
                    model_version=model.version,
                    similar=answer.similar,
                    jira_base_url=self.settings.jira_base_url,
                    mention_groups=job.kind != "event",  # an ephemeral reply notifies nobody else
                )
        except Exception as error:
            logs.error(_log, "predict_failed", exc_info=True, error=logs.error_text(error), **fields)
            return render_error(INTERNAL), "failed_answered"
        top = answer.guesses[0] if answer.guesses else None
        fields.update(answer=answer.kind, top_label=top.label if top else None)
        fields["top_probability"] = round(top.probability, 4) if top else None
        if answer.similar is not None:
            fields["similar_tickets"] = len(answer.similar)
        return message, "answered"

    def confidence_threshold(self, model: LoadedModel) -> float:
        """CONFIDENCE_THRESHOLD when the operator set one; else the model's own (chosen at training
        for a target precision); else the default, for a model that recorded none."""
        override = self.settings.confidence_threshold
        return override if override is not None else model.manifest.threshold

    def _store_feedback(
        self, job: Job, timings: logs.Timings, fields: dict[str, Any]
    ) -> tuple[SlackMessage, str]:
        """Stores the click (raising FeedbackNotStored when it cannot), then confirms it: "thanks",
        or for "Wrong team" the menu asking which team was right. Names come from the directory
        that travels with the current model; without a model the configured one is used, and
        "Wrong team" is thanked without a menu (there is no list of teams to offer)."""
        assert job.verdict is not None and job.suggested_team is not None
        fields.update(
            verdict=job.verdict,
            question_id=job.question,
            suggested_team=job.suggested_team,
            corrected_team=job.corrected_team,
            model_version=job.model_version,
        )
        record = FeedbackRecord.from_job(job, datetime.now(UTC), self.settings.store_feedback_questions)
        with timings.measure("store"):
            fields["stored"] = self.feedback.save(record)
        model = self._model_if_available(timings, fields)
        directory = self._directory_for(model)
        suggested = directory.lookup(job.suggested_team)
        if job.verdict == "right":
            return render_feedback_thanks("right", suggested.display_name), "answered"
        if job.verdict == "corrected":
            assert job.corrected_team is not None
            corrected = (
                None
                if job.corrected_team == UNKNOWN_TEAM
                else directory.lookup(job.corrected_team).display_name
            )
            return render_correction_thanks(corrected, suggested.display_name), "answered"
        if model is None:
            return render_feedback_thanks("wrong", suggested.display_name), "answered"
        teams = [directory.lookup(label) for label in model.manifest.labels]
        menu = render_correction_menu(job.question, suggested, job.model_version, teams)
        if menu is None:
            logs.warning(_log, "feedback_menu_unavailable", reason="context_too_long", **fields)
            return render_feedback_thanks("wrong", suggested.display_name), "answered"
        if menu.left_out:
            logs.warning(_log, "feedback_menu_truncated", left_out=menu.left_out, **fields)
        return menu.message, "answered"

    def _model(self, timings: logs.Timings, fields: dict[str, Any]) -> LoadedModel | tuple[SlackMessage, str]:
        """The model to answer with, or the message that tells the user why there is none."""
        try:
            model = self.holder.get(timings)
        except Exception as error:
            logs.error(_log, "model_unavailable", error=logs.error_text(error), **fields, **timings)
            return render_error(user_message_for(error)), "failed_answered"
        fields["model_version"] = model.version
        return model

    def _list_teams(self, model: LoadedModel, fields: dict[str, Any]) -> tuple[SlackMessage, str]:
        """`/whoknows teams`: the current model's teams, named and reached through its directory."""
        directory = self._directory_for(model)
        teams = [directory.lookup(label) for label in model.manifest.labels]
        fields["teams"] = len(teams)
        return render_teams(teams, model.version), "answered"

    def _model_if_available(self, timings: logs.Timings, fields: dict[str, Any]) -> LoadedModel | None:
        """The current model for names and the menu; a feedback click is stored and confirmed
        without one (logged as a warning, not as model_unavailable: nobody's answer was lost)."""
        try:
            return self.holder.get(timings)
        except Exception as error:
            logs.warning(_log, "feedback_without_model", error=logs.error_text(error), **fields)
            return None

    def _directory_for(self, model: LoadedModel | None) -> TeamDirectory:
        """The team directory in effect: the one published with the model, else TEAM_DIRECTORY's."""
        if model is not None and model.directory is not None:
            return model.directory
        return self.directory

    def _ranked(self, directory: TeamDirectory, label: str, probability: float) -> RankedTeam:
        team = directory.lookup(label)
        return RankedTeam(
            label=label,
            probability=min(1.0, max(0.0, probability)),
            display_name=team.display_name,
            channel=team.channel,
            user_group=team.user_group,
        )

    def _check_directory(self, directory: TeamDirectory, labels: tuple[str, ...], version: str) -> None:
        """Once per model version and directory: gaps are warnings for the publisher, never failures."""
        checked = self._checked
        if checked is not None and checked[0] == version and checked[1] is directory:
            return
        self._checked = (version, directory)
        if not directory.teams:
            logs.warning(
                _log,
                "team_directory_missing",
                model_version=version,
                hint="publish the model with --teams (or set TEAM_DIRECTORY) to show channels and groups",
            )
            return
        for problem in directory.problems(labels):
            logs.warning(_log, "team_directory_mismatch", model_version=version, problem=problem)

    def _deliver(self, job: Job, message: SlackMessage) -> None:
        from chalicelib.slack.post import post_in_thread, post_to_response_url

        if job.kind in ("slash", "feedback", "teams"):
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
    """TEAM_DIRECTORY's directory, for models published without one (none set: empty, and a model
    without a directory is warned about when it answers); an unreadable one is logged and answers
    fall back to bare labels."""
    if settings.team_directory is None:
        return TeamDirectory.empty()
    try:
        return TeamDirectory.load(settings.team_directory)
    except TeamDirectoryError as error:
        logs.error(_log, "team_directory_invalid", error=str(error))
        return TeamDirectory.empty()
