"""A Slack stand-in on 127.0.0.1: response_url targets and chat.postMessage over real HTTP.

The bot's real clients (slack_sdk's WebhookClient and WebClient) talk to it exactly as they
would to Slack, so retries, timeouts and payloads are exercised without mocks or a workspace.
Faults are scripted per request. Usable from tests (the `slack_standin` fixture) and from plain
scripts such as the demo:

    with SlackStandIn() as slack:
        post_to_response_url(slack.response_url("demo"), message, frozenset({slack.host}))
        print(slack.wait_for(1)[0].body)
"""

from __future__ import annotations

import enum
import itertools
import json
import ssl
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl

import pytest

RESPONSE_PREFIX = "/response/"
POST_MESSAGE_PATH = "/api/chat.postMessage"


class Fault(enum.Enum):
    SERVER_ERROR = "server_error"
    """Answer 500, which slack_sdk's ServerErrorRetryHandler retries."""
    RATE_LIMITED = "rate_limited"
    """Answer 429 with Retry-After (1 s unless set otherwise)."""
    SLOW = "slow"
    """Answer 200 only after `slow_seconds`, past the client's timeout; never counted as accepted."""
    DROP = "drop"
    """Close the connection without answering."""


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: Any
    """Parsed JSON (or form fields as a dict); None when the body was neither."""
    fault: Fault | None
    accepted: bool
    """True when answered as Slack answers a successful post (no fault, 200, ok)."""
    at: float
    """time.monotonic() on arrival, to measure waits between attempts."""


class SlackStandIn:
    """Records every request; `fail_next` scripts faults for the next requests, in order."""

    def __init__(
        self, slow_seconds: float = 2.0, retry_after: int = 1, tls: ssl.SSLContext | None = None
    ) -> None:
        """`tls`: a server-side context (e.g. from a trustme CA) to serve https, as Slack does."""
        self.slow_seconds = slow_seconds
        self.retry_after = retry_after
        self._faults: deque[Fault] = deque()
        self._received: list[Received] = []
        self._changed = threading.Condition()
        self._ts = itertools.count(1)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self.host = f"127.0.0.1:{self._server.server_address[1]}"
        self.base_url = f"{'https' if tls else 'http'}://{self.host}"
        self.api_url = f"{self.base_url}/api/"

    def response_url(self, name: str = "default") -> str:
        return f"{self.base_url}{RESPONSE_PREFIX}{name}"

    def fail_next(self, *faults: Fault) -> None:
        with self._changed:
            self._faults.extend(faults)

    @property
    def received(self) -> list[Received]:
        """Every request so far, faults included, oldest first."""
        with self._changed:
            return list(self._received)

    @property
    def accepted(self) -> list[Received]:
        """Only the posts Slack would have shown to a user."""
        return [request for request in self.received if request.accepted]

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        """Blocks until `count` posts were accepted; raises TimeoutError naming what did arrive."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while sum(request.accepted for request in self._received) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [(request.path, request.fault) for request in self._received]
                    raise TimeoutError(f"waited {timeout}s for {count} accepted posts; received {seen}")
                self._changed.wait(remaining)
            return [request for request in self._received if request.accepted]

    def start(self) -> SlackStandIn:
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> SlackStandIn:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def answer(
        self, path: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, str], Any, Fault | None]:
        """Status, headers, body (dict → JSON, str → text) and the fault applied, for one request."""
        body = _parse(raw, headers.get("Content-Type", ""))
        with self._changed:
            fault = self._faults.popleft() if self._faults else None
            status, reply_headers, reply = self._reply(path, headers, body, fault)
            accepted = fault is None and status == 200 and (not isinstance(reply, dict) or reply["ok"])
            self._received.append(Received(path, headers, body, fault, accepted, time.monotonic()))
            self._changed.notify_all()
        return status, reply_headers, reply, fault

    def _reply(
        self, path: str, headers: dict[str, str], body: Any, fault: Fault | None
    ) -> tuple[int, dict[str, str], Any]:
        is_api = path.startswith("/api/")
        if fault is Fault.SERVER_ERROR:
            return 500, {}, {"ok": False, "error": "internal_error"} if is_api else "internal_error"
        if fault is Fault.RATE_LIMITED:
            retry = {"Retry-After": str(self.retry_after)}
            return 429, retry, {"ok": False, "error": "ratelimited"} if is_api else "rate_limited"
        if path.startswith(RESPONSE_PREFIX):
            return 200, {}, "ok"
        if path != POST_MESSAGE_PATH:
            return 404, {}, {"ok": False, "error": "unknown_method"} if is_api else "not_found"
        if not headers.get("Authorization", "").startswith("Bearer "):
            return 200, {}, {"ok": False, "error": "not_authed"}
        if not isinstance(body, dict) or not body.get("channel"):
            return 200, {}, {"ok": False, "error": "channel_not_found"}
        ts = f"1700000000.{next(self._ts):06d}"
        return 200, {}, {"ok": True, "channel": body["channel"], "ts": ts, "message": {"ts": ts}}


def _parse(raw: bytes, content_type: str) -> Any:
    try:
        if content_type.startswith("application/json"):
            return json.loads(raw)
        if content_type.startswith("application/x-www-form-urlencoded"):
            return dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
    except (UnicodeDecodeError, json.JSONDecodeError):
        pass
    return None


def _handler_for(standin: SlackStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, headers, body, fault = standin.answer(self.path, dict(self.headers.items()), raw)
            if fault is Fault.DROP:
                self.close_connection = True
                return
            if fault is Fault.SLOW:
                time.sleep(standin.slow_seconds)
            is_json = isinstance(body, dict)
            payload = json.dumps(body).encode() if is_json else str(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json" if is_json else "text/plain")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up first (a SLOW fault); that is the point of the fault

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: `standin.received` is the log."""

    return Handler


@pytest.fixture
def slack_standin() -> Iterator[SlackStandIn]:
    with SlackStandIn() as standin:
        yield standin
