"""Signature verification against Slack's documented example and the ways a request can be forged."""

from __future__ import annotations

import time

import pytest

from chalicelib.slack.verify import InvalidSignature, sign_request, verify_request

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TIMESTAMP = 1531420618
BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
EXPECTED = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


def headers(timestamp: object = TIMESTAMP, signature: str = EXPECTED) -> dict[str, str]:
    return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": signature}


def test_slack_documented_vector_verifies() -> None:
    verify_request(SECRET, BODY, headers(), now=TIMESTAMP)


def test_sign_request_reproduces_slack_documented_signature() -> None:
    assert sign_request(SECRET, BODY, TIMESTAMP) == headers()


@pytest.mark.parametrize(
    "transform",
    [str.lower, str.upper, lambda name: name],
    ids=["lower", "upper", "as-sent"],
)
def test_header_names_match_in_any_case(transform) -> None:
    verify_request(SECRET, BODY, {transform(k): v for k, v in headers().items()}, now=TIMESTAMP)


def test_window_edges_are_inclusive() -> None:
    verify_request(SECRET, BODY, headers(), now=TIMESTAMP + 300)
    verify_request(SECRET, BODY, headers(), now=TIMESTAMP - 300)


TAMPERED = EXPECTED[:-1] + ("0" if EXPECTED[-1] != "0" else "1")


@pytest.mark.parametrize(
    ("body", "request_headers", "now", "reason"),
    [
        (BODY, {"X-Slack-Signature": EXPECTED}, TIMESTAMP, "missing X-Slack-Request-Timestamp header"),
        (BODY, {"X-Slack-Request-Timestamp": str(TIMESTAMP)}, TIMESTAMP, "missing X-Slack-Signature header"),
        (BODY, headers("yesterday"), TIMESTAMP, "timestamp is not a whole number of seconds"),
        (BODY, headers("1531420618.5"), TIMESTAMP, "timestamp is not a whole number of seconds"),
        (BODY, headers(""), TIMESTAMP, "timestamp is not a whole number of seconds"),
        (BODY, headers(" 1531420618"), TIMESTAMP, "timestamp is not a whole number of seconds"),
        (BODY, headers(), TIMESTAMP + 301, "timestamp is more than 5 minutes old"),
        (BODY, headers(), TIMESTAMP - 301, "timestamp is more than 5 minutes in the future"),
        (
            BODY,
            headers(signature="v1=" + EXPECTED[3:]),
            TIMESTAMP,
            "unsupported signature version (expected v0=)",
        ),
        (BODY, headers(signature=EXPECTED[3:]), TIMESTAMP, "unsupported signature version (expected v0=)"),
        (
            BODY,
            headers(signature=EXPECTED[:-2]),
            TIMESTAMP,
            "malformed signature (expected 64 lowercase hex digits)",
        ),
        (
            BODY,
            headers(signature=EXPECTED[:-1] + "g"),
            TIMESTAMP,
            "malformed signature (expected 64 lowercase hex digits)",
        ),
        (
            BODY,
            headers(signature=EXPECTED.upper().replace("V0", "v0")),
            TIMESTAMP,
            "malformed signature (expected 64 lowercase hex digits)",
        ),
        (BODY, headers(signature=TAMPERED), TIMESTAMP, "signature mismatch"),
        (BODY + b"&text=extra", headers(), TIMESTAMP, "signature mismatch"),
        (BODY, headers(TIMESTAMP + 1), TIMESTAMP, "signature mismatch"),
        (b"\xff\xfe", headers(), TIMESTAMP, "body is not valid UTF-8"),
    ],
    ids=[
        "no-timestamp",
        "no-signature",
        "word-timestamp",
        "fractional-timestamp",
        "empty-timestamp",
        "padded-timestamp",
        "stale",
        "future",
        "v1",
        "no-version",
        "truncated",
        "non-hex",
        "uppercase-hex",
        "forged",
        "body-changed",
        "timestamp-changed",
        "non-utf8-body",
    ],
)
def test_rejections_name_their_reason(
    body: bytes, request_headers: dict[str, str], now: int, reason: str
) -> None:
    with pytest.raises(InvalidSignature) as caught:
        verify_request(SECRET, body, request_headers, now=now)
    assert caught.value.reason == reason
    assert SECRET not in str(caught.value)
    assert EXPECTED[3:] not in str(caught.value)


def test_another_secret_does_not_verify() -> None:
    with pytest.raises(InvalidSignature, match="signature mismatch"):
        verify_request("another-secret", BODY, headers(), now=TIMESTAMP)


def test_clock_defaults_to_now() -> None:
    now = int(time.time())
    verify_request(SECRET, BODY, sign_request(SECRET, BODY, now))
    with pytest.raises(InvalidSignature, match="old"):
        verify_request(SECRET, BODY, sign_request(SECRET, BODY, now - 600))


def test_empty_secret_is_a_configuration_error() -> None:
    with pytest.raises(ValueError):
        verify_request("", BODY, headers(), now=TIMESTAMP)
