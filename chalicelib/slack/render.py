"""Block Kit messages: the answer, the usage help, the acknowledgement, the feedback confirmation
and the failure line.

Built with slack_sdk's block models because their `to_dict` validates Slack's length limits here,
not in a user's Slack client. Every message carries fallback `text` (notifications, screen
readers, old clients).

Escaping happens exactly once. The question is Slack's own text, already escaped: it is echoed with
`markup.to_mrkdwn` in blocks (mentions and links kept, broadcasts made plain) and as
`escape(markup.to_plain(...))` in fallback text (also read as mrkdwn by Slack). Everything else
(team names, directory fields, error sentences, our own wording) is escaped here, once.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from chalicelib.slack.ids import is_channel, is_user_group
from chalicelib.slack.markup import escape, to_mrkdwn, to_plain

MAX_TEAMS_SHOWN = 3
"""More than three guesses reads as "anyone"; the caller may pass a longer ranking."""
MISCONFIGURED_TEXT = "whoknows is misconfigured; tell your admin."
MAX_ECHO_CHARS = 150
"""Echoed questions are cut so the answer, not the question, fills the message."""
MAX_NAME_CHARS = 80
MAX_REASON_CHARS = 60
FEEDBACK_RIGHT = "feedback_right"
FEEDBACK_WRONG = "feedback_wrong"
"""action_ids of the feedback buttons; chalicelib.api.feedback reads the clicks by these names."""


USAGE_EXAMPLES = (
    "why does the nightly export time out?",
    "who owns the refund API?",
    "HDFS datanode keeps restarting after upgrade",
)


@dataclass(frozen=True)
class RankedTeam:
    """One team the model proposes, with where to reach it (from the team directory)."""

    label: str
    probability: float
    display_name: str
    channel: str | None = None
    """"#name" or a channel id such as "C0123ABCD" (ids survive renames)."""
    user_group: str | None = None
    """A user-group (subteam) id such as "S0123"; rendered as a group mention."""

    def __post_init__(self) -> None:
        if not (0.0 <= self.probability <= 1.0) or math.isnan(self.probability):
            raise ValueError(f"probability for {self.label!r} must be within [0, 1]")
        if self.channel is not None and not is_channel(self.channel):
            raise ValueError(f"channel for {self.label!r} must be #name or a channel id")
        if self.user_group is not None and not is_user_group(self.user_group):
            raise ValueError(f"user_group for {self.label!r} must be a subteam id such as S0123")


@dataclass(frozen=True)
class SlackMessage:
    text: str
    """Fallback text; Slack shows it wherever blocks cannot be shown."""
    blocks: list[dict[str, Any]]
    response_type: Literal["ephemeral", "in_channel"] = "ephemeral"
    replace_original: bool = False

    def payload(self) -> dict[str, Any]:
        """The JSON body for a slash-command HTTP response or a response_url post."""
        return {
            "text": self.text,
            "blocks": self.blocks,
            "response_type": self.response_type,
            "replace_original": self.replace_original,
        }


def render_answer(
    question: str,
    teams: Sequence[RankedTeam],
    confidence_threshold: float,
    question_id: str | None = None,
    reasons: Sequence[str] = (),
) -> SlackMessage:
    """The answer, short enough for a phone: the top team, where to reach it and why, then the next
    two in one line. Confident when the top team reaches the threshold, honestly unsure otherwise.

    `reasons` are the question's own words that raised the top team's score (plain text, escaped
    here). `question_id` goes into the feedback buttons so a click can be joined to the logged
    prediction; without one, a short hash of the question stands in.
    """
    shown = list(teams[:MAX_TEAMS_SHOWN])
    echo, plain = _echo(question), _echo_plain(question)
    if not shown:
        advice = "Try adding the product or system name."
        text = f"I couldn't find a team for “{plain}”. {advice}"
        block = f":thinking_face: I couldn't find a team for “{echo}”. {advice}"
        return _message(text, [SectionBlock(text=MarkdownTextObject(text=block))])
    top, others = shown[0], shown[1:]
    confident = top.probability >= confidence_threshold
    because = _because(reasons)
    if confident:
        headline = f"*{_name(top)}* can most likely help with “{echo}” ({_percent(top)})."
        text = f"{_name(top)} can most likely help with “{plain}” ({_percent(top)}){_reach_suffix(top)}"
    else:
        headline = (
            f"I'm not sure who knows about “{echo}”. "
            f"My best guess, *low confidence*: *{_name(top)}* ({_percent(top)})."
        )
        guesses = ", ".join(f"{_name(team)} {_percent(team)}" for team in shown)
        text = f"I'm not sure who can help with “{plain}”. Best guesses (low confidence): {guesses}"
    lines = [headline]
    if _reach(top):
        lines.append(f"Ask in {_reach(top)}")
    if because:
        lines.append(because)
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text="\n".join(lines)))]
    context = []
    if others:
        context.append(
            "Also possible: " + ", ".join(f"{_name(t)} {_percent(t)}{_reach_in(t)}" for t in others)
        )
    context.append(f"Confident means {confidence_threshold:.0%} or more, from past Jira tickets.")
    blocks += [
        ContextBlock(elements=[MarkdownTextObject(text=line) for line in context]),
        _feedback(question_id or _question_hash(question), top.label),
    ]
    return _message(text, blocks)


def render_unknown_words(question: str) -> SlackMessage:
    """A question with no word the model has seen in a ticket: no ranking to show, say so."""
    body = "I don't know any of these words from our tickets — say what it is about"
    text = f"{body}: “{_echo_plain(question)}”. e.g. the product, system or error message."
    block = f":thinking_face: {body}: “{_echo(question)}”. e.g. the product, system or error message."
    return _message(text, [SectionBlock(text=MarkdownTextObject(text=block))])


def render_usage() -> SlackMessage:
    """Shown for `/whoknows` with no question, or `help`."""
    examples = "\n".join(f"• `/whoknows {escape(example)}`" for example in USAGE_EXAMPLES)
    syntax = escape("/whoknows <your question>")
    text = f"Ask me which team can help: {syntax}"
    body = (
        f"*Ask me which team can help:* `{syntax}`\n"
        "I learned from the tickets each team has resolved in Jira.\n\n"
        f"*Examples*\n{examples}\n\n"
        "You can also mention me in a channel or send me a direct message."
    )
    return _message(text, [SectionBlock(text=MarkdownTextObject(text=body))])


def render_ack(question: str) -> SlackMessage:
    """The immediate reply within Slack's 3 seconds, before the real answer arrives."""
    text = f"Looking for who knows about “{_echo_plain(question)}”…"
    block = f":mag: Looking for who knows about “{_echo(question)}”…"
    return _message(text, [ContextBlock(elements=[MarkdownTextObject(text=block)])])


def render_feedback_thanks(verdict: Literal["right", "wrong"], team_name: str) -> SlackMessage:
    """The reply to a click on "That helped" / "Wrong team", so the user sees the click landed.

    Ephemeral and not replacing the original: the answer (and its buttons) stays where it was.
    """
    name = escape(_truncate(team_name, MAX_NAME_CHARS))
    if verdict == "right":
        text = f"Thanks — noted that {name} was the right team."
    else:
        text = f"Thanks — noted that {name} was not the right team; the people who run whoknows will see it."
    return _message(text, [ContextBlock(elements=[MarkdownTextObject(text=f":white_check_mark: {text}")])])


def render_error(message: str) -> SlackMessage:
    """A failure the user can read; callers pass a sentence, never a traceback."""
    text = f"Sorry, I couldn't answer that: {escape(_truncate(message, 500))}"
    return _message(text, [SectionBlock(text=MarkdownTextObject(text=f":warning: {text}"))])


def _message(text: str, blocks: Sequence[Block]) -> SlackMessage:
    return SlackMessage(text=text, blocks=[block.to_dict() for block in blocks])


def _team_section(rank: int, team: RankedTeam, confident: bool) -> SectionBlock:
    marker = "" if confident else " (low confidence)"
    reach = _reach(team)
    lines = [f"*{rank}. {_name(team)}* — {_percent(team)}{marker}"]
    if reach:
        lines.append(f"Ask in {reach}")
    return SectionBlock(text=MarkdownTextObject(text="\n".join(lines)))


def _feedback(question_id: str, top_label: str) -> ActionsBlock:
    value = json.dumps({"q": question_id, "team": top_label}, separators=(",", ":"))
    return ActionsBlock(
        elements=[
            ButtonElement(text=PlainTextObject(text="That helped"), action_id=FEEDBACK_RIGHT, value=value),
            ButtonElement(text=PlainTextObject(text="Wrong team"), action_id=FEEDBACK_WRONG, value=value),
        ]
    )


def _reach(team: RankedTeam) -> str:
    places = []
    if team.channel is not None:
        places.append(team.channel if team.channel.startswith("#") else f"<#{team.channel}>")
    if team.user_group is not None:
        places.append(f"<!subteam^{team.user_group}>")
    return " or ".join(places)


def _reach_in(team: RankedTeam) -> str:
    reach = _reach(team)
    return f" ({reach})" if reach else ""


def _because(reasons: Sequence[str]) -> str:
    """The question's own words behind the answer, for the person to check it at a glance."""
    shown = [
        escape(_truncate(" ".join(reason.split()), MAX_REASON_CHARS)) for reason in reasons if reason.strip()
    ]
    return "Because of: " + ", ".join(f"_{reason}_" for reason in shown) if shown else ""


def _reach_suffix(team: RankedTeam) -> str:
    reach = _reach(team)
    return f": ask in {reach}" if reach else "."


def _name(team: RankedTeam) -> str:
    return escape(_truncate(team.display_name or team.label, MAX_NAME_CHARS))


def _percent(team: RankedTeam) -> str:
    return f"{team.probability:.0%}"


def _echo(question: str) -> str:
    """The question (Slack's text) inside our blocks: mentions render, nobody is notified."""
    return to_mrkdwn(question, MAX_ECHO_CHARS)


def _echo_plain(question: str) -> str:
    """The question (Slack's text) in fallback text: as the person reads it, escaped once."""
    return escape(_truncate(" ".join(to_plain(question).split()), MAX_ECHO_CHARS))


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _question_hash(question: str) -> str:
    return hashlib.sha256(question.encode("utf-8")).hexdigest()[:16]
