"""Authenticity, proven per route: one table of forged, stale, future, replayed, missing and
malformed signatures, run against every Slack route in-process (chalice.test.Client) and, smaller,
over real HTTP through `chalice local`.

Every refused case must give a 401 with a short JSON error, hand nothing over, log exactly one
`request_refused` warning and nothing at ERROR, and no record at any level may contain the
signing secret, the bot token, the signature sent or a response_url. The table's control row (a
correctly signed request) must be accepted and handed over, so the test fails if verification is
removed or made to refuse everything.

Timestamps in forged rows are signed consistently (the HMAC is right for the timestamp claimed),
so each row is refused for the one reason it names, not for a mismatch it did not mean to test.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest
from slack_sdk.signature import Clock, SignatureVerifier

from chalicelib.slack import verify
from chalicelib.slack.render import FEEDBACK_WRONG
from chalicelib.slack.verify import SIGNATURE_HEADER, TIMESTAMP_HEADER, InvalidSignature, verify_request
from tests.support.interactions import RESPONSE_URL as CLICK_RESPONSE_URL
from tests.support.interactions import click_body
from tests.support.records import AllRecords
from tests.support.serving import (
    BOT_TOKEN,
    SIGNING_SECRET,
    RecordingDispatcher,
    base_env,
    event_body,
    slash_body,
)

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
SLASH_RESPONSE_URL = "https://hooks.slack.com/commands/T0001/1/abc"  # slash_body's default
WINDOW = verify.MAX_SKEW_SECONDS
REFUSED = {"error": "invalid request signature"}

Headers = dict[str, str]
Forge = Callable[[bytes, bytes, int], tuple[bytes, Headers]]
"""(the body, another body the same route accepts, now) -> (body to send, signature headers)."""


def hmac_signature(body: bytes, stamp: str, secret: str = SIGNING_SECRET) -> str:
    """Slack's v0 signature for any timestamp string, even one Slack would never send."""
    digest = hmac.new(secret.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256)
    return "v0=" + digest.hexdigest()


def stamped(stamp: str, signature: str) -> Headers:
    return {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: signature}


def consistent(stamp: str) -> Forge:
    """Correctly signed for a timestamp the verifier must refuse."""
    return lambda body, _, now: (
        body,
        stamped(stamp.format(now=now), hmac_signature(body, stamp.format(now=now))),
    )


def with_signature(change: Callable[[str], str]) -> Forge:
    """The right timestamp, the right signature changed by `change`."""
    return lambda body, _, now: (body, stamped(str(now), change(hmac_signature(body, str(now)))))


def only(header: str) -> Forge:
    def forge(body: bytes, _: bytes, now: int) -> tuple[bytes, Headers]:
        headers = stamped(str(now), hmac_signature(body, str(now)))
        return body, {header: headers[header]}

    return forge


def _flip_last(signature: str) -> str:
    return signature[:-1] + ("0" if signature[-1] != "0" else "1")


def aged(seconds: int) -> Forge:
    """Correctly signed, `seconds` away from now (negative: in the past)."""
    return lambda body, _, now: (body, stamped(str(now + seconds), hmac_signature(body, str(now + seconds))))


FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")

# name -> (forge, accepted, also over real HTTP)
CASES: dict[str, tuple[Forge, bool, bool]] = {
    "control": (aged(0), True, True),
    "forged-wrong-secret": (
        lambda body, _, now: (
            body,
            stamped(str(now), hmac_signature(body, str(now), "forged-" + SIGNING_SECRET)),
        ),
        False,
        True,
    ),
    "stale-5min+1s": (aged(-(WINDOW + 1)), False, True),
    "future-5min+1s": (aged(WINDOW + 1), False, True),
    "stale-1h": (aged(-3600), False, False),
    "replayed-with-new-body": (
        lambda body, other, now: (other, stamped(str(now), hmac_signature(body, str(now)))),
        False,
        True,
    ),
    "body-extended": (
        lambda body, _, now: (body + b"&x=1", stamped(str(now), hmac_signature(body, str(now)))),
        False,
        False,
    ),
    "body-emptied": (
        lambda body, _, now: (b"", stamped(str(now), hmac_signature(body, str(now)))),
        False,
        False,
    ),
    "other-timestamp-same-body": (
        lambda body, _, now: (body, stamped(str(now), hmac_signature(body, str(now - 1)))),
        False,
        True,
    ),
    "missing-signature": (only(TIMESTAMP_HEADER), False, True),
    "missing-timestamp": (only(SIGNATURE_HEADER), False, True),
    "both-missing": (lambda body, _, now: (body, {}), False, True),
    "non-numeric-timestamp": (consistent("yesterday"), False, True),
    "empty-timestamp": (consistent(""), False, True),
    "fractional-timestamp": (consistent("{now}.0"), False, False),
    "negative-timestamp": (consistent("-{now}"), False, False),
    "hex-timestamp": (consistent("0x{now:x}"), False, False),
    "padded-timestamp": (consistent(" {now}"), False, False),
    "fullwidth-digit-timestamp": (
        lambda body, _, now: (
            body,
            stamped(str(now).translate(FULLWIDTH), hmac_signature(body, str(now).translate(FULLWIDTH))),
        ),
        False,
        False,
    ),
    "wrong-version-v1": (with_signature(lambda s: "v1=" + s[3:]), False, True),
    "no-version": (with_signature(lambda s: s[3:]), False, False),
    "uppercase-version": (with_signature(lambda s: "V0=" + s[3:]), False, False),
    "uppercase-digest": (with_signature(lambda s: "v0=" + s[3:].upper()), False, True),
    "truncated-signature": (with_signature(lambda s: s[:-1]), False, True),
    "truncated-to-version": (with_signature(lambda s: s[:3]), False, False),
    "empty-signature": (with_signature(lambda s: ""), False, True),
    "signature-padded": (with_signature(lambda s: s + " "), False, False),
    "signature-doubled": (with_signature(lambda s: s + "," + s), False, False),
    "signature-one-digit-changed": (with_signature(_flip_last), False, True),
    "signature-all-zeros": (with_signature(lambda s: "v0=" + "0" * 64), False, False),
}


@dataclass(frozen=True)
class Route:
    path: str
    name: str
    """The `route` field of chalicelib's log lines."""
    content_type: str
    body: bytes
    other: bytes
    """Another body this route accepts and hands over: the replay target."""
    handover_event: str
    """What chalicelib logs when it hands the request over (or, for clicks, records it)."""
    response_url: str | None


def route_table(
    response_url: str = SLASH_RESPONSE_URL, click_response_url: str = CLICK_RESPONSE_URL
) -> dict[str, Route]:
    mention = {"type": "app_mention", "user": "U0001", "channel": "C0001", "ts": "1700.000100"}
    return {
        "commands": Route(
            "/slack/commands",
            "slash",
            FORM,
            slash_body("who owns the refund API?", response_url=response_url),
            slash_body("who owns payroll?", response_url=response_url),
            "slash_dispatched",
            response_url,
        ),
        "events": Route(
            "/slack/events",
            "events",
            JSON,
            event_body({**mention, "text": "<@UBOT0001> who owns the refund API?"}, event_id="EvA"),
            event_body({**mention, "text": "<@UBOT0001> who owns payroll?", "ts": "1700.2"}, event_id="EvB"),
            "event_dispatched",
            None,
        ),
        "interactions": Route(
            "/slack/interactions",
            "interactions",
            FORM,
            click_body(response_url=click_response_url),
            click_body(FEEDBACK_WRONG, response_url=click_response_url),
            "feedback",
            click_response_url,
        ),
    }


ROUTES = route_table()


def forbidden(route: Route, headers: Headers) -> list[str]:
    """What must never be logged. Signatures shorter than 8 characters ("", "v0=") are skipped:
    they are substrings of ordinary text, not secrets."""
    signature = headers.get(SIGNATURE_HEADER, "")
    values = [SIGNING_SECRET, BOT_TOKEN, signature, signature[3:], route.response_url or ""]
    return [value for value in values if len(value) >= 8]


# --- in-process, every case x every route ------------------------------------------------------


def _check(
    route: Route,
    accepted: bool,
    response: Any,
    headers: Headers,
    dispatcher: RecordingDispatcher,
    records: AllRecords,
) -> None:
    events = records.events()
    if accepted:
        assert response.status_code == 200, response.body
        assert route.handover_event in events
        assert len(dispatcher.jobs) == 1  # a click too: its confirmation is a worker job
    else:
        assert response.status_code == 401, response.body
        assert len(response.body) < 100 and json.loads(response.body) == REFUSED
        assert dispatcher.jobs == []
        assert events == ["request_refused"]
        [refused] = [record for record in records.records if record.getMessage() == "request_refused"]
        assert refused.levelname == "WARNING" and refused.fields["route"] == route.name  # type: ignore[attr-defined]
    assert records.at_or_above(40) == []  # logging.ERROR
    assert records.containing(forbidden(route, headers)) == []


@pytest.mark.parametrize("route_name", list(ROUTES))
@pytest.mark.parametrize("case", list(CASES))
def test_every_forgery_is_refused_on_every_route(
    client: Any, dispatcher: RecordingDispatcher, records: AllRecords, route_name: str, case: str
) -> None:
    route, (forge, accepted, _) = ROUTES[route_name], CASES[case]
    body, headers = forge(route.body, route.other, math.ceil(time.time()))  # never less than 1 s out

    response = client.http.post(
        route.path, headers={"Content-Type": route.content_type, **headers}, body=body
    )

    _check(route, accepted, response, headers, dispatcher, records)


def test_the_table_covers_the_issue_list() -> None:
    """Issue 5 names these; the table must keep every one (and a control that is accepted)."""
    named = {
        "forged-wrong-secret",
        "stale-5min+1s",
        "future-5min+1s",
        "replayed-with-new-body",
        "missing-signature",
        "missing-timestamp",
        "both-missing",
        "non-numeric-timestamp",
        "empty-timestamp",
        "wrong-version-v1",
        "truncated-signature",
        "empty-signature",
        "other-timestamp-same-body",
    }
    assert named <= set(CASES)
    assert [name for name, (_, accepted, _) in CASES.items() if accepted] == ["control"]
    assert set(ROUTES) == {"commands", "events", "interactions"}


# --- the 5-minute boundary, as slack_sdk draws it -----------------------------------------------


class _Fixed(Clock):
    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now


STAMP = 1_700_000_000


@pytest.mark.parametrize(
    "offset", [-301, -300.5, -300.001, -300, -299.999, 0, 299.999, 300, 300.001, 300.5, 301]
)
def test_the_window_matches_slack_sdks_own_verifier(offset: float) -> None:
    """slack_sdk refuses when |now - timestamp| > 300 (float clock, int timestamp): exactly 300 s
    either way is accepted, anything past it is not. verify_request must agree at every point."""
    body = b"token=x&text=hello"
    headers = {TIMESTAMP_HEADER: str(STAMP), SIGNATURE_HEADER: hmac_signature(body, str(STAMP))}
    now = STAMP + offset
    sdk = SignatureVerifier(SIGNING_SECRET, clock=_Fixed(now)).is_valid_request(body, headers)
    try:
        verify_request(SIGNING_SECRET, body, headers, now=now)
        ours = True
    except InvalidSignature:
        ours = False

    assert ours == sdk == (abs(offset) <= WINDOW)


@pytest.mark.parametrize("route_name", list(ROUTES))
@pytest.mark.parametrize(
    ("age", "accepted"),
    [(300, True), (-300, True), (300.001, False), (-300.001, False), (300.999, False)],
)
def test_the_boundary_on_every_route(
    client: Any,
    dispatcher: RecordingDispatcher,
    records: AllRecords,
    monkeypatch: pytest.MonkeyPatch,
    route_name: str,
    age: float,
    accepted: bool,
) -> None:
    """With the clock pinned: a request exactly 300 s old (or ahead) gets in, 1 ms more does not.

    So with Slack's whole-second timestamps a request "300 s old" by the second is refused once any
    fraction of that second has passed: the usable window is 300 s, not 300 s plus a second."""
    route = ROUTES[route_name]
    monkeypatch.setattr(verify, "time", SimpleNamespace(time=lambda: STAMP + age))
    headers = {TIMESTAMP_HEADER: str(STAMP), SIGNATURE_HEADER: hmac_signature(route.body, str(STAMP))}

    response = client.http.post(
        route.path, headers={"Content-Type": route.content_type, **headers}, body=route.body
    )

    _check(route, accepted, response, headers, dispatcher, records)


# --- over real HTTP through `chalice local` ------------------------------------------------------


HTTP_CASES = [name for name, (_, _, over_http) in CASES.items() if over_http]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    from scripts.local_server import ChaliceLocal
    from tests.support.slack_standin import SlackStandIn

    folder = tmp_path_factory.mktemp("authenticity")
    with SlackStandIn() as slack:
        env = base_env(
            folder,
            RESPONSE_URL_EXTRA_HOSTS=slack.host,
            SLACK_API_BASE_URL=slack.api_url,
            MODEL_REFRESH_SECONDS="0",
        )
        log = folder / "chalice.log"
        with ChaliceLocal(env, SIGNING_SECRET).start(log) as server:
            yield SimpleNamespace(
                server=server,
                slack=slack,
                log=log,
                routes=route_table(slack.response_url("auth"), slack.response_url("auth-click")),
            )


def _post(base_url: str, route: Route, body: bytes, headers: Headers) -> tuple[int, bytes]:
    request = urllib.request.Request(
        base_url + route.path,
        data=body,
        method="POST",
        headers={"Content-Type": route.content_type, **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def _wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.parametrize("route_name", list(ROUTES))
@pytest.mark.parametrize("case", HTTP_CASES)
def test_forgeries_are_refused_through_chalice_local(
    served: SimpleNamespace, route_name: str, case: str
) -> None:
    route, (forge, accepted, _) = served.routes[route_name], CASES[case]
    body, headers = forge(route.body, route.other, math.ceil(time.time()))  # never less than 1 s out
    start, posts_before = served.log.stat().st_size, len(served.slack.received)

    status, reply = _post(served.server.base_url, route, body, headers)

    if accepted:
        assert status == 200, reply
        # The worker runs and posts once (no model: it says so; a click: it is confirmed).
        _wait_for(lambda: len(served.slack.received) == posts_before + 1)
        _wait_for(lambda: b"job_done" in served.log.read_bytes()[start:])
    else:
        assert status == 401 and json.loads(reply) == REFUSED
    lines = _json_lines(served.log.read_bytes()[start:].decode())
    events = [line["event"] for line in lines]
    if accepted:
        assert route.handover_event in events
    else:
        assert events == ["request_refused"]
        assert (lines[0]["level"], lines[0]["route"]) == ("WARNING", route.name)
        assert len(served.slack.received) == posts_before
        assert not [line for line in lines if line["level"] in ("ERROR", "CRITICAL")]
    logged = served.log.read_bytes()[start:].decode()
    assert [value for value in forbidden(route, headers) if value in logged] == []
