"""A job: what the API function hands to the worker, as one plain JSON object.

Its `job_id` is derived from the Slack request (the slash command's trigger_id; an event's channel
and message ts; a feedback click's trigger_id), so a retried or duplicated job is recognisable and
the worker answers it once.

Kinds: "slash" and "event" (answer a question), "feedback" (store a click on an answer's feedback
buttons or on the "which team was right?" menu, and confirm it), "teams" (list the teams the model
knows, for `/whoknows teams`). Adding a kind or a field does not change JOB_FORMAT: the payload's
shape is the same (an older worker ignores fields it does not know), and a worker older than the
kind refuses it by name ("unknown job kind 'teams'", logged as job_invalid) while it keeps answering
the kinds it knows. Bumping the format would make an old worker refuse every job during a
deployment.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

JOB_FORMAT = 1
KINDS = ("slash", "event", "feedback", "teams")
VERDICTS = ("right", "wrong", "corrected")
Kind = Literal["slash", "event", "feedback", "teams"]
Verdict = Literal["right", "wrong", "corrected"]
UNKNOWN_TEAM = "__unknown__"
"""A correction's team when the user chose "I don't know": in the menu's option value, the job, the
stored record and `export feedback pull`'s CSV alike."""


class InvalidJob(ValueError):
    """A payload that is not a job this code understands."""


@dataclass(frozen=True)
class Job:
    job_id: str
    kind: Kind
    question: str
    """Slash and event jobs: the question asked. Feedback jobs: the answered question's id (its job
    id, as the button carries it; the text is `question_text`). Teams jobs: the command's word."""
    user_id: str
    request_id: str | None = None
    """The API request that created the job, so worker lines can be joined to it."""
    response_url: str | None = field(default=None, repr=False)
    """Slash commands and feedback clicks: where the reply goes. A credential: never log it (not
    even by printing the job)."""
    channel: str | None = None
    """Events: the conversation to answer in. Feedback: where the click happened (stored with it)."""
    thread_ts: str | None = None
    """Events: the thread to answer in."""
    team_id: str | None = None
    verdict: Verdict | None = None
    """Feedback: the suggested team was right, wrong, or wrong and `corrected_team` was right."""
    suggested_team: str | None = None
    """Feedback: the team label the answer proposed (from the button)."""
    corrected_team: str | None = None
    """Feedback "corrected": the label the user picked, or UNKNOWN_TEAM ("I don't know")."""
    model_version: str | None = None
    """Feedback: the version of the model that answered (from the button); None when the button lacks it."""
    question_text: str | None = None
    """Feedback: the question as Slack sent it, carried only when the operator stores questions
    (STORE_FEEDBACK_QUESTIONS); None otherwise."""

    def __post_init__(self) -> None:
        if self.kind in ("slash", "feedback", "teams") and not self.response_url:
            raise InvalidJob(f"a {self.kind} job needs a response_url")
        if self.kind == "event" and not (self.channel and self.thread_ts):
            raise InvalidJob("an event job needs a channel and a thread_ts")
        if self.kind == "feedback":
            if self.verdict not in VERDICTS:
                raise InvalidJob(
                    f"a feedback job's verdict must be one of {', '.join(VERDICTS)}, got {self.verdict!r}"
                )
            if not self.suggested_team:
                raise InvalidJob("a feedback job needs a suggested_team")
            if (self.verdict == "corrected") != bool(self.corrected_team):
                raise InvalidJob(
                    "a feedback job has a corrected_team exactly when its verdict is 'corrected'"
                )

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
        return cls._for_invocation("slash", question, user_id, response_url, trigger_id, team_id, request_id)

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
    def for_teams(
        cls,
        *,
        word: str,
        user_id: str,
        response_url: str,
        trigger_id: str | None,
        team_id: str | None = None,
        request_id: str | None = None,
    ) -> Job:
        """`/whoknows teams`: one job per invocation, like a question's."""
        return cls._for_invocation("teams", word, user_id, response_url, trigger_id, team_id, request_id)

    @classmethod
    def _for_invocation(
        cls,
        kind: Literal["slash", "teams"],
        question: str,
        user_id: str,
        response_url: str,
        trigger_id: str | None,
        team_id: str | None,
        request_id: str | None,
    ) -> Job:
        # trigger_id is unique per invocation; without it, the response_url is (hashed: it is secret).
        basis = trigger_id or _secret_basis(response_url)
        return cls(
            job_id=f"{kind}:{basis}",
            kind=kind,
            question=question,
            user_id=user_id,
            request_id=request_id,
            response_url=response_url,
            team_id=team_id,
        )

    @classmethod
    def for_feedback(
        cls,
        *,
        verdict: Verdict,
        question_id: str,
        suggested_team: str,
        user_id: str,
        response_url: str,
        trigger_id: str | None,
        action_ts: str | None = None,
        team_id: str | None = None,
        request_id: str | None = None,
        corrected_team: str | None = None,
        model_version: str | None = None,
        question_text: str | None = None,
        channel_id: str | None = None,
    ) -> Job:
        """One click to store and confirm. Slack's retried delivery of the click carries the same
        trigger_id (and action_ts), so it makes the same job, which the worker handles once."""
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
            corrected_team=corrected_team,
            model_version=model_version,
            question_text=question_text,
            channel=channel_id,
        )


def _secret_basis(response_url: str) -> str:
    """A job id part from a response_url, which is a credential: hashed, never used as is."""
    return hashlib.sha256(response_url.encode()).hexdigest()[:32]
