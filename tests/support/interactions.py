"""Interactivity requests as Slack sends them: a form with one `payload` field holding JSON."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from chalicelib.slack.render import FEEDBACK_CORRECT, FEEDBACK_RIGHT

RESPONSE_URL = "https://hooks.slack.com/actions/T0001/1234567890/interactionsecretpart"
"""A click's response_url: a credential like a slash command's, so tests assert it is never logged."""
FEEDBACK_VALUE = json.dumps({"q": "slash:trig.123", "team": "PAYMENTS"}, separators=(",", ":"))
"""What render.py puts in the feedback buttons for question id slash:trig.123, top team PAYMENTS."""


def block_actions(
    action_id: str = FEEDBACK_RIGHT, value: str | None = FEEDBACK_VALUE, **overrides: Any
) -> dict[str, Any]:
    """A `block_actions` payload shaped like Slack's for a click on one of our answer's buttons."""
    action: dict[str, Any] = {
        "type": "button",
        "action_id": action_id,
        "block_id": "fb1",
        "text": {"type": "plain_text", "text": "That helped", "emoji": True},
        "action_ts": "1700000001.000200",
    }
    if value is not None:
        action["value"] = value
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": "U0001", "username": "ada", "name": "ada", "team_id": "T0001"},
        "api_app_id": "A0001",
        "token": "deprecated-verification-token",
        "container": {
            "type": "message",
            "message_ts": "1700000000.000100",
            "channel_id": "C0001",
            "is_ephemeral": True,
        },
        "trigger_id": "1234.5678.abcdef",
        "team": {"id": "T0001", "domain": "acme"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": "C0001", "name": "general"},
        "state": {"values": {}},
        "response_url": RESPONSE_URL,
        "actions": [action],
    }
    payload.update(overrides)
    return payload


def interaction_body(payload: Any) -> bytes:
    """The form body Slack POSTs: `payload=<url-encoded JSON>`."""
    return urlencode({"payload": json.dumps(payload)}).encode()


def click_body(
    action_id: str = FEEDBACK_RIGHT, value: str | None = FEEDBACK_VALUE, **overrides: Any
) -> bytes:
    return interaction_body(block_actions(action_id, value, **overrides))


def menu_choice(value: str | None, block_id: str, **overrides: Any) -> bytes:
    """A choice in our "which team was right?" menu, shaped as Slack sends a static_select's
    block_actions (tests/fixtures/slack_requests/interactions.json `block_actions_static_select`):
    `selected_option` instead of `value`, the menu's own click ids, the ephemeral menu message."""
    action: dict[str, Any] = {
        "type": "static_select",
        "action_id": FEEDBACK_CORRECT,
        "block_id": block_id,
        "placeholder": {"type": "plain_text", "text": "Choose the right team", "emoji": True},
        "action_ts": "1700000009.000300",
    }
    if value is not None:
        action["selected_option"] = {
            "text": {"type": "plain_text", "text": value, "emoji": True},
            "value": value,
        }
    payload = block_actions(
        trigger_id="1234.5678.select",
        response_url=RESPONSE_URL.replace("interactionsecretpart", "menusecretpart"),
        actions=[action],
        state={"values": {block_id: {FEEDBACK_CORRECT: {"type": "static_select", "selected_option": None}}}},
    )
    if value is not None:
        payload["state"]["values"][block_id][FEEDBACK_CORRECT]["selected_option"] = action["selected_option"]
    payload.update(overrides)
    return interaction_body(payload)


def answer_button(answer: dict[str, Any], action_id: str) -> dict[str, Any]:
    """The one button with `action_id` in a posted answer's actions blocks (as Slack received it)."""
    [button] = [
        element
        for block in answer["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
        if element["action_id"] == action_id
    ]
    return button
