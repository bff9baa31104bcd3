"""Block Kit messages: the answer, the usage help, the acknowledgement, the feedback confirmations
and the "which team was right?" menu, the list of teams, and the failure line.

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
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
    Option,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
)

from chalicelib.jobs import UNKNOWN_TEAM

if TYPE_CHECKING:  # numpy's module: the API function renders acks without it
    from chalicelib.model.ticket_index import SimilarTicket
from chalicelib.model.teams import Team
from chalicelib.slack.ids import is_channel, is_user_group
from chalicelib.slack.markup import cut_raw, escape, to_mrkdwn, to_plain

MAX_TEAMS_SHOWN = 3
"""More than three guesses reads as "anyone"; the caller may pass a longer ranking."""
MISCONFIGURED_TEXT = "whoknows is misconfigured; tell your admin."
MAX_ECHO_CHARS = 150
"""Echoed questions are cut so the answer, not the question, fills the message."""
MAX_NAME_CHARS = 80
MAX_REASON_CHARS = 60
MAX_EVIDENCE_CHARS = 90
"""A past ticket's summary is cut to one phone line."""
FEEDBACK_RIGHT = "feedback_right"
FEEDBACK_WRONG = "feedback_wrong"
FEEDBACK_CORRECT = "feedback_correct"
"""action_ids of the feedback buttons and of the "which team was right?" menu;
chalicelib.api.feedback reads the clicks by these names."""
MAX_QUESTION_IN_BUTTON = 1000
"""The question travels in the feedback buttons (cut to this many characters), so a click can be
stored with it when the operator keeps questions."""
BUTTON_VALUE_LIMIT = 2000
"""Slack's limit on a button's value; the question is cut further if its JSON escapes need room."""
BLOCK_ID_LIMIT = 255
MENU_OPTIONS_LIMIT = 100
"""Slack's limit on a static_select's options: the menu lists the first 99 teams by name, then
"I don't know", and says so when some teams did not fit."""
OPTION_TEXT_LIMIT = 75
OPTION_VALUE_LIMIT = 150
SECTION_TEXT_LIMIT = 3000
MESSAGE_BLOCKS_LIMIT = 50
TEAMS_LIST_CHARS = 12_000
"""The team list's own cap: well under what Slack accepts in one message, and still readable."""
MAX_DESCRIPTION_CHARS = 300


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
    model_version: str | None = None,
    similar: Sequence[SimilarTicket] | None = None,
    jira_base_url: str | None = None,
    mention_groups: bool = True,
) -> SlackMessage:
    """The answer, short enough for a phone: the top team, where to reach it and why, then the next
    two in one line. Confident when the top team reaches the threshold, honestly unsure otherwise.

    `reasons` are the question's own words that raised the top team's score (plain text, escaped
    here). `question_id` and `model_version` go into the feedback buttons so a click can be stored
    with the answer it judges; without a question id, a short hash of the question stands in.
    `similar` are the top team's past tickets most like the question (None: the model has no index),
    linked to Jira where the index or `jira_base_url` knows the address. `mention_groups=False`
    leaves the teams' user groups out: an answer posted in a channel's thread would notify them.
    """
    shown = [team if mention_groups else replace(team, user_group=None) for team in teams[:MAX_TEAMS_SHOWN]]
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
    if similar is not None:
        blocks.append(_evidence(top, similar, jira_base_url))
    context = []
    if others:
        context.append(
            "Also possible: " + ", ".join(f"{_name(t)} {_percent(t)}{_reach_in(t)}" for t in others)
        )
    context.append(f"Confident means {confidence_threshold:.0%} or more, from past Jira tickets.")
    blocks += [
        ContextBlock(elements=[MarkdownTextObject(text=line) for line in context]),
        _feedback(question_id or _question_hash(question), top.label, model_version, question),
    ]
    return _message(text, blocks)


def _evidence(top: RankedTeam, similar: Sequence[SimilarTicket], jira_base_url: str | None) -> ContextBlock:
    """The top team's past tickets like the question, one short line each, readable on a phone."""
    if not similar:
        text = f"No past ticket of {_name(top)} is much like this question."
    else:
        lines = [
            f"• {_ticket_link(t, jira_base_url)} {escape(_truncate(t.summary, MAX_EVIDENCE_CHARS))}"
            + (f" ({t.year})" if t.year else "")
            for t in similar
        ]
        text = "Similar past tickets:\n" + "\n".join(lines)
    return ContextBlock(elements=[MarkdownTextObject(text=text)])


def _ticket_link(ticket: SimilarTicket, jira_base_url: str | None) -> str:
    url = ticket.url or (f"{jira_base_url}/browse/{ticket.key}" if jira_base_url else None)
    key = escape(_truncate(ticket.key, MAX_NAME_CHARS))
    if url is None or not url.startswith(("https://", "http://")) or any(c in url for c in "|<> "):
        return f"*{key}*"
    return f"<{escape(url)}|{key}>"


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
        "`/whoknows teams` lists the teams I know. "
        "You can also mention me in a channel or send me a direct message."
    )
    return _message(text, [SectionBlock(text=MarkdownTextObject(text=body))])


def render_ack(question: str) -> SlackMessage:
    """The immediate reply within Slack's 3 seconds, before the real answer arrives."""
    text = f"Looking for who knows about “{_echo_plain(question)}”…"
    block = f":mag: Looking for who knows about “{_echo(question)}”…"
    return _message(text, [ContextBlock(elements=[MarkdownTextObject(text=block)])])


def render_teams_ack() -> SlackMessage:
    """The immediate reply to `/whoknows teams`."""
    text = "Looking up the teams I know…"
    return _message(text, [ContextBlock(elements=[MarkdownTextObject(text=f":mag: {text}")])])


def render_feedback_thanks(verdict: Literal["right", "wrong"], team_name: str) -> SlackMessage:
    """The reply to a click on "That helped" (or on "Wrong team" when no menu can be offered), so
    the user sees the click landed.

    Ephemeral and not replacing the original: the answer (and its buttons) stays where it was.
    """
    name = escape(_truncate(team_name, MAX_NAME_CHARS))
    if verdict == "right":
        text = f"Thanks — noted that {name} was the right team."
    else:
        text = f"Thanks — noted that {name} was not the right team; the people who run whoknows will see it."
    return _thanks(text)


def render_correction_thanks(corrected_name: str | None, suggested_name: str) -> SlackMessage:
    """The reply to a choice in the "which team was right?" menu (`corrected_name` None for "I
    don't know"). It replaces the menu, so a correction is made once and the answer stays."""
    if corrected_name is None:
        text = (
            f"Thanks — noted that {escape(_truncate(suggested_name, MAX_NAME_CHARS))} was not the right team."
        )
    else:
        text = f"Thanks — noted that {escape(_truncate(corrected_name, MAX_NAME_CHARS))} was the right team."
    return replace(_thanks(text), replace_original=True)


@dataclass(frozen=True)
class CorrectionMenu:
    message: SlackMessage
    left_out: int
    """Teams that did not fit in Slack's 100 options (the last ones by name)."""


def render_correction_menu(
    question_id: str,
    suggested: Team,
    model_version: str | None,
    teams: Sequence[Team],
) -> CorrectionMenu | None:
    """The reply to "Wrong team": "Which team was right?" with a menu of the model's other teams by
    name and "I don't know". Ephemeral and not replacing the original (the answer stays).

    The menu's block_id carries what the choice is stored with (question id, model version,
    suggested team) as compact JSON within Slack's 255 characters; the version is left out when it
    does not fit, and None is returned when even the rest does not (the caller thanks instead).
    """
    block_id = _menu_block_id(question_id, suggested.label, model_version)
    if block_id is None:
        return None
    candidates = sorted(
        (
            team
            for team in teams
            if team.label != suggested.label
            and team.label != UNKNOWN_TEAM
            and len(team.label) <= OPTION_VALUE_LIMIT
        ),
        key=lambda team: (team.display_name.casefold(), team.label),
    )
    shown, left_out = candidates[: MENU_OPTIONS_LIMIT - 1], max(0, len(candidates) - (MENU_OPTIONS_LIMIT - 1))
    names = [team.display_name for team in shown]
    options = [
        Option(text=_option_text(team, names.count(team.display_name) > 1), value=team.label)
        for team in shown
    ]
    options.append(Option(text="I don't know", value=UNKNOWN_TEAM))
    name = _truncate(suggested.display_name or suggested.label, MAX_NAME_CHARS)
    text = f"Thanks — noted that {escape(name)} was not the right team. Which team was right?"
    menu = StaticSelectElement(
        action_id=FEEDBACK_CORRECT,
        placeholder=PlainTextObject(text="Choose the right team"),
        options=options,
    )
    blocks: list[Block] = [
        SectionBlock(block_id=block_id, text=MarkdownTextObject(text=text), accessory=menu)
    ]
    if left_out:
        note = (
            f"Only the first {len(shown)} teams by name fit in the menu; "
            "if the right one is missing, choose “I don't know”."
        )
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=note)]))
    return CorrectionMenu(_message(text, blocks), left_out)


def render_teams(teams: Sequence[Team], model_version: str) -> SlackMessage:
    """`/whoknows teams`: every team the model knows, by name, with where to reach it and what it
    does, within Slack's limits (50 blocks, 3,000 characters a section); what does not fit is
    counted in a closing note rather than cut silently."""
    ordered = sorted(teams, key=lambda team: (team.display_name.casefold(), team.label))
    teams_word = "team" if len(ordered) == 1 else "teams"
    headline = f"*The {len(ordered)} {teams_word} I know* (model {escape(_truncate(model_version, 40))}):"
    entries = [_team_entry(team) for team in ordered]
    one_each = len(entries) <= MESSAGE_BLOCKS_LIMIT - 2
    sections: list[str] = []
    used = shown = 0
    for entry in entries:
        if used + len(entry) > TEAMS_LIST_CHARS:
            break
        if not one_each and sections and len(sections[-1]) + 2 + len(entry) <= SECTION_TEXT_LIMIT:
            sections[-1] += "\n\n" + entry
        elif len(sections) < MESSAGE_BLOCKS_LIMIT - 2:
            sections.append(entry)
        else:
            break
        used += len(entry)
        shown += 1
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=headline))]
    blocks += [SectionBlock(text=MarkdownTextObject(text=section)) for section in sections]
    if shown < len(ordered):
        note = f"…and {len(ordered) - shown} more teams not shown here; ask your admin for the full list."
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=note)]))
    names = ", ".join(escape(_truncate(team.display_name, MAX_NAME_CHARS)) for team in ordered[:shown])
    text = _truncate(f"The teams I know: {names}", SECTION_TEXT_LIMIT)
    return _message(text, blocks)


def render_error(message: str) -> SlackMessage:
    """A failure the user can read; callers pass a sentence, never a traceback."""
    text = f"Sorry, I couldn't answer that: {escape(_truncate(message, 500))}"
    return _message(text, [SectionBlock(text=MarkdownTextObject(text=f":warning: {text}"))])


def _message(text: str, blocks: Sequence[Block]) -> SlackMessage:
    return SlackMessage(text=text, blocks=[block.to_dict() for block in blocks])


def _thanks(text: str) -> SlackMessage:
    return _message(text, [ContextBlock(elements=[MarkdownTextObject(text=f":white_check_mark: {text}")])])


def _option_text(team: Team, ambiguous: bool) -> str:
    """A team's name in the menu; its label too when two teams share a display name."""
    name = f"{team.display_name} ({team.label})" if ambiguous else team.display_name
    return _truncate(name, OPTION_TEXT_LIMIT)


def _menu_block_id(question_id: str, suggested_label: str, model_version: str | None) -> str | None:
    for version in (model_version, None):
        context = {"q": question_id, "team": suggested_label}
        if version is not None:
            context["v"] = version
        block_id = json.dumps(context, separators=(",", ":"), ensure_ascii=False)
        if len(block_id) <= BLOCK_ID_LIMIT:
            return block_id
    return None


def _team_entry(team: Team) -> str:
    reach = _reach(RankedTeam(team.label, 0.0, team.display_name, team.channel, team.user_group))
    line = f"*{escape(_truncate(team.display_name, MAX_NAME_CHARS))}*"
    if reach:
        line += f" — ask in {reach}"
    if team.description:
        line += "\n" + escape(_truncate(" ".join(team.description.split()), MAX_DESCRIPTION_CHARS))
    return line


def feedback_value(question_id: str, team: str, model_version: str | None, question: str) -> str:
    """A feedback button's value: `{"q", "team", "v", "text"}` as compact JSON within Slack's 2,000
    characters (counted in UTF-16 units, as Slack's clients count). The question is Slack's text cut
    to MAX_QUESTION_IN_BUTTON characters without splitting an entity or a mention, and cut further
    when its escapes need the room; `v` is left out when there is no version."""

    def encoded(text: str) -> str:
        context: dict[str, str] = {"q": question_id, "team": team}
        if model_version is not None:
            context["v"] = model_version
        context["text"] = text
        return json.dumps(context, separators=(",", ":"), ensure_ascii=False)

    def fits(value: str) -> bool:
        return len(value.encode("utf-16-le")) // 2 <= BUTTON_VALUE_LIMIT

    text = cut_raw(question, MAX_QUESTION_IN_BUTTON)
    if fits(encoded(text)):
        return encoded(text)
    shortest, longest = 0, len(text)  # the longest cut that fits: found by halving
    while shortest < longest:
        middle = (shortest + longest + 1) // 2
        if fits(encoded(cut_raw(text, middle))):
            shortest = middle
        else:
            longest = middle - 1
    return encoded(cut_raw(text, shortest))


def _feedback(question_id: str, top_label: str, model_version: str | None, question: str) -> ActionsBlock:
    value = feedback_value(question_id, top_label, model_version, question)
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
