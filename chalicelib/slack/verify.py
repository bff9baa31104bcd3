"""Slack request signatures (HMAC v0): the first thing the API function checks.

slack_sdk's SignatureVerifier does the HMAC and the constant-time comparison; it only answers
yes or no, so the checks around it name *why* a request was refused. Those reasons go to logs
and metrics, which is why they never quote the secret, the signature or the timestamp.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Mapping

from slack_sdk.signature import Clock, SignatureVerifier

TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"
SIGNATURE_HEADER = "X-Slack-Signature"
MAX_SKEW_SECONDS = 5 * 60
"""Slack's documented replay window, applied both ways (old and future timestamps)."""

_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")


class InvalidSignature(Exception):
    """The request is not provably from Slack; `reason` is short and safe to log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _FixedClock(Clock):
    """Pins SignatureVerifier to the instant the window was checked, so both agree."""

    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now


def verify_request(
    signing_secret: str, body: bytes, headers: Mapping[str, str], now: float | None = None
) -> None:
    """Returns quietly for a genuine Slack request; raises InvalidSignature otherwise.

    Header names are matched case-insensitively because API Gateway and `chalice local` deliver
    different casing. `now` (epoch seconds) is injectable for tests; an empty secret is a
    configuration error and raises ValueError.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    timestamp = lowered.get(TIMESTAMP_HEADER.lower())
    signature = lowered.get(SIGNATURE_HEADER.lower())
    if timestamp is None:
        raise InvalidSignature(f"missing {TIMESTAMP_HEADER} header")
    if signature is None:
        raise InvalidSignature(f"missing {SIGNATURE_HEADER} header")
    if not _TIMESTAMP.fullmatch(timestamp):
        raise InvalidSignature("timestamp is not a whole number of seconds")
    instant = time.time() if now is None else now
    age = instant - int(timestamp)
    if age > MAX_SKEW_SECONDS:
        raise InvalidSignature("timestamp is more than 5 minutes old")
    if age < -MAX_SKEW_SECONDS:
        raise InvalidSignature("timestamp is more than 5 minutes in the future")
    if not signature.startswith("v0="):
        raise InvalidSignature("unsupported signature version (expected v0=)")
    if not _SIGNATURE.fullmatch(signature):
        raise InvalidSignature("malformed signature (expected 64 lowercase hex digits)")
    verifier = SignatureVerifier(signing_secret, clock=_FixedClock(instant))
    try:
        valid = verifier.is_valid(body=body, timestamp=timestamp, signature=signature)
    except UnicodeDecodeError:
        raise InvalidSignature("body is not valid UTF-8") from None
    if not valid:
        raise InvalidSignature("signature mismatch")


def sign_request(signing_secret: str, body: bytes, timestamp: int) -> dict[str, str]:
    """The two headers Slack would send with `body`; lets demos, tests and benchmarks act as Slack.

    HMAC over the raw bytes, as Slack computes it (SignatureVerifier.generate_signature would first
    decode the body as UTF-8 and so cannot sign the malformed bodies the fuzz tests send)."""
    stamp = str(timestamp)
    digest = hmac.new(signing_secret.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256)
    return {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: f"v0={digest.hexdigest()}"}
