"""Property-based: whatever arrives at the routes, signed or not, the answer is never a 5xx and a
person who would read the reply gets readable text (hypothesis; 10,000+ generated requests, split
evenly over the three routes)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest
from chalice.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.api import runtime as api_runtime
from chalicelib.api.events import InMemorySeenEvents
from chalicelib.slack.render import FEEDBACK_RIGHT, FEEDBACK_WRONG
from tests.support.serving import RecordingDispatcher, apply_env, base_env, signed

ROUTES = ("/slack/commands", "/slack/events", "/slack/interactions")
EXAMPLES_PER_ROUTE = 3_334
"""10,002 requests in all."""
CONTENT_TYPES = ("application/x-www-form-urlencoded", "application/json", "text/plain", "")
SLASH_FIELDS = (
    "command",
    "text",
    "user_id",
    "channel_id",
    "team_id",
    "trigger_id",
    "response_url",
    "ssl_check",
)

form_bodies = st.dictionaries(
    st.sampled_from(SLASH_FIELDS), st.text(max_size=300), max_size=len(SLASH_FIELDS)
).map(lambda fields: urlencode(fields).encode())
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=50),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
event_bodies = st.fixed_dictionaries(
    {"type": st.sampled_from(["event_callback", "url_verification", "app_rate_limited", "x"])},
    optional={"event_id": st.text(max_size=20), "challenge": json_values, "event": json_values},
).map(lambda envelope: json.dumps(envelope).encode())
button_values = st.one_of(
    st.fixed_dictionaries({}, optional={"q": json_values, "team": json_values}).map(json.dumps),
    st.text(max_size=100),
)
block_actions = st.lists(
    st.fixed_dictionaries(
        {"action_id": st.sampled_from([FEEDBACK_RIGHT, FEEDBACK_WRONG]) | st.text(max_size=20)},
        optional={"value": button_values | json_values, "block_id": json_values, "type": json_values},
    )
    | json_values,
    max_size=3,
)
interaction_bodies = st.fixed_dictionaries(
    {"type": st.sampled_from(["block_actions", "view_submission", "shortcut", ""]) | json_values},
    optional={
        "user": st.fixed_dictionaries({}, optional={"id": json_values, "team_id": json_values}) | json_values,
        "team": st.fixed_dictionaries({}, optional={"id": json_values}) | json_values,
        "channel": st.fixed_dictionaries({}, optional={"id": json_values}) | json_values,
        "actions": block_actions | json_values,
        "response_url": json_values,
    },
).map(lambda payload: urlencode({"payload": json.dumps(payload)}).encode())
bodies = st.one_of(
    st.binary(max_size=2_000),
    st.text(max_size=2_000).map(lambda text: text.encode("utf-8", "surrogatepass")),
    st.text(max_size=200).map(lambda text: text.encode("utf-16")),
    form_bodies,
    event_bodies,
    interaction_bodies,
    st.integers(min_value=1, max_value=1_000_000).map(lambda size: b"text=" + b"a" * size),  # up to 1 MB
)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Any:
    patch = pytest.MonkeyPatch()
    apply_env(patch, base_env(tmp_path_factory.mktemp("fuzz")))
    from app import app

    with Client(app) as test_client:
        yield test_client
    patch.undo()


@pytest.mark.slow
@pytest.mark.parametrize("route", ROUTES)
@settings(max_examples=EXAMPLES_PER_ROUTE, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    body=bodies,
    content_type=st.sampled_from(CONTENT_TYPES),
    sign=st.booleans(),
)
def test_no_request_gets_a_server_error(
    client: Any, route: str, body: bytes, content_type: str, sign: bool
) -> None:
    api_runtime.reset(dispatcher=RecordingDispatcher(), seen=InMemorySeenEvents())
    headers = signed(body, content_type) if sign else {"Content-Type": content_type}
    if not content_type:
        headers.pop("Content-Type", None)
    response = client.http.post(route, headers=headers, body=body)
    assert response.status_code < 500, response.body[:200]
    if response.status_code >= 400 and response.body:
        reply = json.loads(response.body)
        assert isinstance(reply, dict) and any(isinstance(v, str) and v for v in reply.values())
    if route == "/slack/commands" and response.status_code == 200 and response.body:
        assert json.loads(response.body).get("text")
    if route == "/slack/interactions" and response.status_code == 200:
        assert json.loads(response.body) in ({"ok": True}, {"ok": False})
