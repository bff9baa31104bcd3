"""Clicks on an answer's "That helped" / "Wrong team" buttons, turned into one log line each, and
the worker job that confirms the click to the user.

The line (`feedback`, with the verdict, the question id and the team the bot suggested, as
render.py put them in the button) is the whole record: CloudWatch Logs Insights can join it to the
worker's `job_done` line by question id (= job id) and count right and wrong answers per team, with
no datastore to deploy. The click's response_url goes only into the confirmation job (a credential
there, never logged); the confirmation itself is posted by the worker, off the 3-second ack path.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from chalicelib import logs
from chalicelib.jobs import Job
from chalicelib.slack.render import FEEDBACK_RIGHT, FEEDBACK_WRONG
from chalicelib.slack.requests import BlockAction, BlockActions

_log = logs.get_logger(__name__)

VERDICTS: dict[str, Literal["right", "wrong"]] = {FEEDBACK_RIGHT: "right", FEEDBACK_WRONG: "wrong"}
MAX_FIELD_CHARS = 200
"""Question ids and team labels are short; anything longer is not a value render.py wrote."""


class UnreadableFeedback(ValueError):
    """A feedback button's value is not what render.py encodes; the message is safe to log."""


@dataclass(frozen=True)
class Feedback:
    verdict: Literal["right", "wrong"]
    question_id: str
    suggested_team: str
    user_id: str
    team_id: str | None = None
    channel_id: str | None = None
    action_ts: str | None = None
    """When the button was clicked; identifies the click when the payload has no trigger_id."""

    def fields(self) -> dict[str, Any]:
        """The log line's fields (named so none looks like a credential to the log redactor)."""
        return {
            "verdict": self.verdict,
            "question_id": self.question_id,
            "suggested_team": self.suggested_team,
            "user_id": self.user_id,
            "team_id": self.team_id,
            "channel_id": self.channel_id,
        }


def read_value(value: str | None) -> tuple[str, str]:
    """(question id, suggested team) from a button value `{"q": …, "team": …}`."""
    if not value:
        raise UnreadableFeedback("the button has no value")
    try:
        data = json.loads(value)
    except json.JSONDecodeError:
        raise UnreadableFeedback("the button value is not JSON") from None
    if not isinstance(data, dict):
        raise UnreadableFeedback("the button value is not a JSON object")
    question_id, team = data.get("q"), data.get("team")
    for name, field in (("q", question_id), ("team", team)):
        if not isinstance(field, str) or not field.strip():
            raise UnreadableFeedback(f"the button value has no {name}")
        if len(field) > MAX_FIELD_CHARS:
            raise UnreadableFeedback(f"the button value's {name} is longer than {MAX_FIELD_CHARS} characters")
    return question_id, team


def feedback_for(interaction: BlockActions, action: BlockAction) -> Feedback | None:
    """The feedback one clicked action carries; None for an action that is not a feedback button."""
    verdict = VERDICTS.get(action.action_id)
    if verdict is None:
        return None
    question_id, team = read_value(action.value)
    return Feedback(
        verdict=verdict,
        question_id=question_id,
        suggested_team=team,
        user_id=interaction.user_id,
        team_id=interaction.team_id,
        channel_id=interaction.channel_id,
        action_ts=action.action_ts,
    )


def record(interaction: BlockActions, **extra: Any) -> list[Feedback]:
    """Logs one `feedback` line per feedback click; returns the feedback recorded.

    Unknown actions and unreadable values are logged (info / warning) and otherwise ignored: the
    click came from Slack, so the only useful answer is still a 200.
    """
    recorded: list[Feedback] = []
    for action in interaction.actions:
        try:
            feedback = feedback_for(interaction, action)
        except UnreadableFeedback as error:
            logs.warning(
                _log, "feedback_unreadable", action_id=action.action_id[:100], reason=str(error), **extra
            )
            continue
        if feedback is None:
            logs.info(
                _log,
                "interaction_ignored",
                reason="unknown_action",
                action_id=action.action_id[:100],
                **extra,
            )
            continue
        logs.info(_log, "feedback", **feedback.fields(), **extra)
        recorded.append(feedback)
    return recorded


def confirmation_job(
    interaction: BlockActions, recorded: list[Feedback], request_id: str | None = None
) -> Job | None:
    """The worker job that thanks the user for the click; None when there is nothing to confirm or
    nowhere to confirm it (no feedback recorded, or no response_url in the payload).

    A button click is one action; should a payload ever carry several feedback actions, the first
    is confirmed (one job per click, so its id stays the click's).
    """
    if not recorded or interaction.response_url is None:
        return None
    first = recorded[0]
    return Job.for_feedback(
        verdict=first.verdict,
        question_id=first.question_id,
        suggested_team=first.suggested_team,
        user_id=first.user_id,
        response_url=interaction.response_url,
        trigger_id=interaction.trigger_id,
        action_ts=first.action_ts,
        team_id=first.team_id,
        request_id=request_id,
    )
