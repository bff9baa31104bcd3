"""What Slack sends, parsed into frozen values the rest of the bot can trust.

Every malformed input becomes BadRequest with a message a person can act on, so the API
function can answer 400 (or a friendly ephemeral line) instead of failing deep in a worker.
Call these only after `verify.verify_request` has accepted the body.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

MAX_QUESTION_CHARS = 4000
"""Slack caps slash-command text near this; longer text is not a question a person typed."""

_LEADING_MENTIONS = re.compile(r"^(?:\s*<@[UW][A-Z0-9]+(?:\|[^>]*)?>)+\s*")


class BadRequest(Exception):
    """The body is not something Slack sends; the message says what was wrong."""


@dataclass(frozen=True)
class SlashCommand:
    user_id: str
    response_url: str
    text: str
    command: str | None = None
    channel_id: str | None = None
    team_id: str | None = None
    trigger_id: str | None = None


@dataclass(frozen=True)
class UrlVerification:
    """Slack checking the Events URL; answer with `challenge` at once."""

    challenge: str


@dataclass(frozen=True)
class EventCallback:
    event_id: str
    team_id: str
    """The workspace: the envelope's `team_id`, or for an org-wide install whose envelope has none,
    the event's own workspace (`workspace_of`)."""
    event_type: str
    user: str | None = None
    bot_id: str | None = None
    subtype: str | None = None
    channel: str | None = None
    channel_type: str | None = None
    text: str = ""
    ts: str | None = None
    thread_ts: str | None = None
    api_app_id: str | None = None
    authorized_user_ids: tuple[str, ...] = ()
    """Users (usually the bot itself) the event was delivered for, from `authorizations`."""
    edited: bool = False
    """The event carries `edited`: Slack re-sends an edited @-mention, with a new event_id."""

    @property
    def is_from_bot(self) -> bool:
        """Bots' messages (ours included) must never be answered, or two bots can loop."""
        return self.bot_id is not None or self.subtype == "bot_message"

    @property
    def reply_thread_ts(self) -> str | None:
        """Where an answer belongs: the existing thread, else a new thread under the message."""
        return self.thread_ts or self.ts


@dataclass(frozen=True)
class IgnoredEnvelope:
    """An Events API envelope the bot has no use for (e.g. app_rate_limited); acknowledge it."""

    envelope_type: str


@dataclass(frozen=True)
class BlockAction:
    """One clicked element of a `block_actions` payload: a button (`value` is what we put in it) or
    a select menu (`selected_value` is the chosen option's value; its `block_id` what we put there)."""

    action_id: str
    value: str | None = None
    block_id: str | None = None
    action_ts: str | None = None
    selected_value: str | None = None


@dataclass(frozen=True)
class BlockActions:
    """A click on an interactive element of one of our messages.

    The response_url is kept only to be carried into the worker's job, where it is treated as the
    credential it is; it is left out of repr() so no log of this value can show it. The deprecated
    verification token is not kept at all.
    """

    user_id: str
    actions: tuple[BlockAction, ...]
    team_id: str | None = None
    channel_id: str | None = None
    trigger_id: str | None = None
    response_url: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class IgnoredInteraction:
    """A well-formed interaction the bot has no handler for (shortcuts, view submissions…)."""

    interaction_type: str


def parse_slash_command(body: bytes) -> SlashCommand:
    """Parses the form-encoded POST Slack sends for `/whoknows …`."""
    text = _decode(body)
    if text.lstrip().startswith(("{", "[")):
        raise BadRequest("expected a form-encoded slash command, got JSON")
    try:
        fields = parse_qs(text, keep_blank_values=True, strict_parsing=False, errors="strict")
    except UnicodeDecodeError:
        raise BadRequest("a form field is not valid UTF-8 once percent-decoded") from None
    repeated = sorted(name for name, values in fields.items() if len(values) > 1)
    if repeated:
        raise BadRequest(f"form field given more than once: {', '.join(repeated)}")
    form = {name: values[0] for name, values in fields.items()}
    for required in ("user_id", "response_url"):
        if not form.get(required):
            raise BadRequest(f"slash command is missing {required}")
    question = form.get("text", "").strip()
    if len(question) > MAX_QUESTION_CHARS:
        raise BadRequest(
            f"the question is {len(question)} characters long; please keep it under {MAX_QUESTION_CHARS}"
        )
    return SlashCommand(
        user_id=form["user_id"],
        response_url=form["response_url"],
        text=question,
        command=form.get("command") or None,
        channel_id=form.get("channel_id") or None,
        team_id=form.get("team_id") or None,
        trigger_id=form.get("trigger_id") or None,
    )


def parse_event_callback(body: bytes) -> UrlVerification | EventCallback | IgnoredEnvelope:
    """Parses an Events API envelope (JSON)."""
    envelope, kind = _typed_json_object(_decode(body), "the event body", "the event envelope")
    if kind == "url_verification":
        return UrlVerification(challenge=_required_str(envelope, "challenge", "url_verification"))
    if kind != "event_callback":
        return IgnoredEnvelope(envelope_type=kind)
    event = envelope.get("event")
    if not isinstance(event, dict):
        raise BadRequest("event_callback has no event object")
    return EventCallback(
        event_id=_required_str(envelope, "event_id", "event_callback"),
        team_id=workspace_of(envelope, event),
        event_type=_required_str(event, "type", "event"),
        user=_optional_str(event, "user"),
        bot_id=_optional_str(event, "bot_id"),
        subtype=_optional_str(event, "subtype"),
        channel=_optional_str(event, "channel"),
        channel_type=_optional_str(event, "channel_type"),
        text=_optional_str(event, "text") or "",
        ts=_optional_str(event, "ts"),
        thread_ts=_optional_str(event, "thread_ts"),
        api_app_id=_optional_str(envelope, "api_app_id"),
        authorized_user_ids=_authorized_user_ids(envelope.get("authorizations")),
        edited=event.get("edited") is not None,
    )


def workspace_of(envelope: dict[str, Any], event: dict[str, Any]) -> str:
    """The workspace an event belongs to, the same for every delivery of it (retries included).

    The envelope's `team_id` when it has one. An Enterprise Grid org-wide install may send none (or
    null): then the event's `team`, `user_team`, the authorizations' `team_id`, `context_team_id`,
    and last the enterprise id itself (the envelope's, then the authorizations'), in that order.
    Without `team_id`, `enterprise_id` or `authorizations` the envelope is not one Slack sends.
    """
    team_id = _optional_str(envelope, "team_id")
    if team_id:
        return team_id
    if not (envelope.get("enterprise_id") or envelope.get("authorizations")):
        raise BadRequest("event_callback is missing team_id")
    authorizations = envelope.get("authorizations")
    candidates = [_optional_str(event, "team"), _optional_str(event, "user_team")]
    if isinstance(authorizations, list):
        candidates += [_optional_str(a, "team_id") for a in authorizations if isinstance(a, dict)]
    candidates += [_optional_str(envelope, "context_team_id"), _optional_str(envelope, "enterprise_id")]
    if isinstance(authorizations, list):
        candidates += [_optional_str(a, "enterprise_id") for a in authorizations if isinstance(a, dict)]
    workspace = next((candidate for candidate in candidates if candidate), None)
    if workspace is None:
        raise BadRequest("event_callback names no workspace (team_id, event team or enterprise_id)")
    return workspace


def parse_interaction(body: bytes) -> BlockActions | IgnoredInteraction:
    """Parses an interactivity request: a form with one field, `payload`, holding JSON."""
    text = _decode(body)
    try:
        fields = parse_qs(text, keep_blank_values=True, strict_parsing=False, errors="strict")
    except UnicodeDecodeError:
        raise BadRequest("a form field is not valid UTF-8 once percent-decoded") from None
    values = fields.get("payload")
    if not values or not values[0]:
        raise BadRequest("the interaction has no payload field")
    if len(values) > 1:
        raise BadRequest("form field given more than once: payload")
    payload, kind = _typed_json_object(values[0], "the interaction payload", "the interaction payload")
    if kind != "block_actions":
        return IgnoredInteraction(interaction_type=kind)
    user = payload.get("user")
    if not isinstance(user, dict):
        raise BadRequest("block_actions has no user object")
    actions = payload.get("actions")
    if not isinstance(actions, list) or not actions:
        raise BadRequest("block_actions has no actions")
    team, channel = payload.get("team"), payload.get("channel")
    team_id = _optional_str(team, "id") if isinstance(team, dict) else None
    return BlockActions(
        user_id=_required_str(user, "id", "block_actions user"),
        actions=tuple(_block_action(action) for action in actions),
        team_id=team_id or _optional_str(user, "team_id"),
        channel_id=_optional_str(channel, "id") if isinstance(channel, dict) else None,
        trigger_id=_optional_str(payload, "trigger_id") or None,
        response_url=_optional_str(payload, "response_url") or None,
    )


def _block_action(action: Any) -> BlockAction:
    if not isinstance(action, dict):
        raise BadRequest("each block action must be a JSON object")
    selected = action.get("selected_option")
    if selected is not None and not isinstance(selected, dict):
        raise BadRequest("field selected_option must be an object")
    return BlockAction(
        action_id=_required_str(action, "action_id", "block action"),
        value=_optional_str(action, "value"),
        block_id=_optional_str(action, "block_id"),
        action_ts=_optional_str(action, "action_ts"),
        selected_value=_optional_str(selected, "value") if selected is not None else None,
    )


def strip_bot_mention(text: str) -> str:
    """The question without the leading `<@U…>` mention(s) that addressed the bot."""
    return _LEADING_MENTIONS.sub("", text, count=1).strip()


def _typed_json_object(text: str, what: str, typed: str) -> tuple[dict[str, Any], str]:
    """`text` as a JSON object and its non-empty string "type"; otherwise BadRequest naming `what`
    (or `typed`, for the missing type)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise BadRequest(f"{what} is not valid JSON ({error.msg})") from None
    if not isinstance(value, dict):
        raise BadRequest(f"{what} must be a JSON object")
    kind = value.get("type")
    if not isinstance(kind, str) or not kind:
        raise BadRequest(f"{typed} has no type")
    return value, kind


def _decode(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("the body is not valid UTF-8") from None


def _required_str(data: dict[str, Any], name: str, where: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise BadRequest(f"{where} is missing {name}")
    return value


def _optional_str(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequest(f"field {name} must be a string")
    return value


def _authorized_user_ids(authorizations: Any) -> tuple[str, ...]:
    if authorizations is None:
        return ()
    if not isinstance(authorizations, list):
        raise BadRequest("authorizations must be a list")
    return tuple(
        entry["user_id"]
        for entry in authorizations
        if isinstance(entry, dict) and isinstance(entry.get("user_id"), str)
    )
