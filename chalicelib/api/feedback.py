"""Clicks on an answer's "That helped" / "Wrong team" buttons and choices in the "which team was
right?" menu, turned into one log line each and the worker job that stores and confirms them.

What render.py put in the element comes back with the click: a button's value holds the question id,
the suggested team, the model version and the question as Slack sent it; the menu's block_id holds
the question id, the suggested team and the version, and the chosen option's value is the team the
user says was right (or UNKNOWN_TEAM). The `feedback` log line names the verdict and the teams,
never the question. The worker stores the feedback (`chalicelib.worker.feedback_store`) and
confirms it; the click's response_url goes only into that job (a credential there, never logged),
and the question only when the operator keeps questions (STORE_FEEDBACK_QUESTIONS).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from chalicelib import logs
from chalicelib.jobs import Job, Verdict
from chalicelib.slack.render import FEEDBACK_CORRECT, FEEDBACK_RIGHT, FEEDBACK_WRONG, MAX_QUESTION_IN_BUTTON
from chalicelib.slack.requests import BlockAction, BlockActions

_log = logs.get_logger(__name__)

VERDICTS: dict[str, Verdict] = {
    FEEDBACK_RIGHT: "right",
    FEEDBACK_WRONG: "wrong",
    FEEDBACK_CORRECT: "corrected",
}
MAX_FIELD_CHARS = 200
"""Question ids, team labels and versions are short; anything longer is not a value render.py wrote."""


class UnreadableFeedback(ValueError):
    """A feedback element's value is not what render.py encodes; the message is safe to log."""


@dataclass(frozen=True)
class Clicked:
    """What a feedback element carried back."""

    question_id: str
    suggested_team: str
    model_version: str | None = None
    question_text: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Feedback:
    verdict: Verdict
    question_id: str
    suggested_team: str
    user_id: str
    team_id: str | None = None
    channel_id: str | None = None
    action_ts: str | None = None
    """When the element was used; identifies the click when the payload has no trigger_id."""
    corrected_team: str | None = None
    """The team the user picked in the menu (verdict "corrected"), or UNKNOWN_TEAM."""
    model_version: str | None = None
    question_text: str | None = field(default=None, repr=False)
    """The question as Slack sent it (from the button); never logged."""

    def fields(self) -> dict[str, Any]:
        """The log line's fields (named so none looks like a credential to the log redactor)."""
        return {
            "verdict": self.verdict,
            "question_id": self.question_id,
            "suggested_team": self.suggested_team,
            "corrected_team": self.corrected_team,
            "model_version": self.model_version,
            "user_id": self.user_id,
            "team_id": self.team_id,
            "channel_id": self.channel_id,
        }


def read_value(value: str | None) -> Clicked:
    """What a feedback button carries: `{"q", "team"}`, optionally `"v"` (the model version) and
    `"text"` (the question): messages already in Slack may hold buttons without them."""
    data = _json_object(value, "button value")
    question_id, team = _required(data, "q", "button value"), _required(data, "team", "button value")
    version = _optional(data, "v", "button value")
    text = data.get("text")
    if text is not None and not isinstance(text, str):
        raise UnreadableFeedback("the button value's text is not a string")
    if text is not None and len(text) > MAX_QUESTION_IN_BUTTON:
        raise UnreadableFeedback(
            f"the button value's text is longer than {MAX_QUESTION_IN_BUTTON} characters"
        )
    return Clicked(question_id, team, version, text or None)


def read_menu(block_id: str | None) -> Clicked:
    """What the "which team was right?" menu's block_id carries: `{"q", "team"}` and maybe `"v"`."""
    data = _json_object(block_id, "menu's block_id")
    return Clicked(
        _required(data, "q", "menu's block_id"),
        _required(data, "team", "menu's block_id"),
        _optional(data, "v", "menu's block_id"),
    )


def _json_object(raw: str | None, what: str) -> dict[str, Any]:
    if not raw:
        raise UnreadableFeedback(f"the {what} is empty")
    try:
        data = json.loads(raw)
    except json.JSONDecodeError:
        raise UnreadableFeedback(f"the {what} is not JSON") from None
    if not isinstance(data, dict):
        raise UnreadableFeedback(f"the {what} is not a JSON object")
    return data


def _required(data: dict[str, Any], name: str, what: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value.strip():
        raise UnreadableFeedback(f"the {what} has no {name}")
    return _short(value, name, what)


def _optional(data: dict[str, Any], name: str, what: str) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise UnreadableFeedback(f"the {what}'s {name} is not a non-empty string")
    return _short(value, name, what)


def _short(value: str, name: str, what: str) -> str:
    if len(value) > MAX_FIELD_CHARS:
        raise UnreadableFeedback(f"the {what}'s {name} is longer than {MAX_FIELD_CHARS} characters")
    return value


def feedback_for(interaction: BlockActions, action: BlockAction) -> Feedback | None:
    """The feedback one used element carries; None for an element that is not ours."""
    verdict = VERDICTS.get(action.action_id)
    if verdict is None:
        return None
    corrected: str | None = None
    if verdict == "corrected":
        clicked = read_menu(action.block_id)
        if not action.selected_value or not action.selected_value.strip():
            raise UnreadableFeedback("the menu choice has no selected option")
        corrected = _short(action.selected_value, "selected option", "menu choice")
    else:
        clicked = read_value(action.value)
    return Feedback(
        verdict=verdict,
        question_id=clicked.question_id,
        suggested_team=clicked.suggested_team,
        user_id=interaction.user_id,
        team_id=interaction.team_id,
        channel_id=interaction.channel_id,
        action_ts=action.action_ts,
        corrected_team=corrected,
        model_version=clicked.model_version,
        question_text=clicked.question_text,
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
    interaction: BlockActions,
    recorded: list[Feedback],
    request_id: str | None = None,
    keep_questions: bool = False,
) -> Job | None:
    """The worker job that stores the click and confirms it to the user; None when there is nothing
    to store or nowhere to confirm it (no feedback recorded, or no response_url in the payload).

    The question goes into the job only when the operator keeps questions (`keep_questions`). A
    click is one action; should a payload ever carry several feedback actions, the first is
    handled (one job per click, so its id stays the click's).
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
        corrected_team=first.corrected_team,
        model_version=first.model_version,
        question_text=first.question_text if keep_questions else None,
        channel_id=first.channel_id,
    )
