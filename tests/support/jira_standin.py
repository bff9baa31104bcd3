"""A Jira stand-in on 127.0.0.1: both search APIs over real HTTP, with scriptable faults.

Tests drive the real client against it instead of mocking HTTP, so paging, headers, retries and
error bodies are exercised the way Jira serves them. All tickets are synthetic.
"""

from __future__ import annotations

import json
import re
import threading
from base64 import b64encode
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

EMAIL = "bot@example.test"
API_TOKEN = "cloud-api-token"
PERSONAL_TOKEN = "server-personal-token"
CLOUD_PATH = "/rest/api/3/search/jql"
SERVER_PATH = "/rest/api/2/search"
TEAMS = {"PAY": "Payments", "SRCH": "Search", "PLAT": "Platform"}
START = datetime(2024, 1, 1)
# Jira Cloud's answer to the removed search API (HTTP 410), as Atlassian serves it since CHANGE-2046;
# body as quoted in public bug reports, e.g. github.com/adyscorpius/logseq-jira/issues/34 and
# github.com/ComposioHQ/Rube/issues/9.
SEARCH_REMOVED = {
    "errorMessages": [
        "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. A full "
        "migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"
    ],
    "errors": {},
}
TOPICS = ("refund stuck in pending", "search results stale", "deploy pipeline flaky", "login times out")
UPDATED_SINCE = re.compile(r'\bupdated\s*>=\s*"(\d{4}-\d{2}-\d{2} \d{2}:\d{2})"', re.IGNORECASE)
"""The one JQL clause the stand-in filters on (the rest of the JQL is ignored): `updated >= "…"`,
read as UTC, against each issue's `updated` (its `created` when it has none)."""


@dataclass
class Fault:
    status: int
    """HTTP status to answer, or 0 to drop the connection without answering."""
    times: int | None
    """How many matching requests fail; None means every one."""
    page: int | None
    """1-based page number the fault applies to; None means any request."""
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Recorded:
    path: str
    query: dict[str, str]
    headers: dict[str, str]


def synthetic_issues(count: int = 23) -> list[dict[str, Any]]:
    """Issues in REST v2 shape (description as text); every 7th has no component, every 5th no description."""
    issues = []
    projects = list(TEAMS)
    for number in range(1, count + 1):
        project = projects[number % len(projects)]
        topic = TOPICS[number % len(TOPICS)]
        issues.append(
            {
                "id": str(10_000 + number),
                "key": f"{project}-{number}",
                "fields": {
                    "summary": f"{topic} #{number}",
                    "description": None
                    if number % 5 == 0
                    else f"Seen on host-{number}.\nSteps: retry {topic}.",
                    "created": (START + timedelta(hours=7 * number)).strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
                    "project": {"key": project, "name": TEAMS[project] + " project"},
                    "components": [] if number % 7 == 0 else [{"name": f"{TEAMS[project]} core"}],
                    "customfield_10010": {"value": TEAMS[project], "id": str(number % 3)},
                },
            }
        )
    return issues


def text_to_adf(text: str | dict[str, Any] | None) -> dict[str, Any] | None:
    """Cloud serves descriptions as ADF: one paragraph per line, with a mark to ignore; a description
    that is ADF already (a real-shaped fixture) is served as it is."""
    if text is None or isinstance(text, dict):
        return text
    paragraphs = [
        {"type": "paragraph", "content": [{"type": "text", "text": line, "marks": [{"type": "strong"}]}]}
        for line in text.split("\n")
    ]
    return {"type": "doc", "version": 1, "content": paragraphs}


class JiraStandin:
    """Serves `issues` on both flavours; see `fail` and `drop` for faults, `requests` for what it saw."""

    def __init__(self, issues: list[dict[str, Any]]) -> None:
        self.issues = issues
        self.faults: list[Fault] = []
        self.requests: list[Recorded] = []
        self.max_results_cap = 1000
        self.cloud_only = False
        """Serve as Jira Cloud does today: the server search path answers 410 Gone."""
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"

    @staticmethod
    def env() -> dict[str, str]:
        """Environment holding credentials the stand-in accepts, for both flavours."""
        return {"JIRA_EMAIL": EMAIL, "JIRA_API_TOKEN": API_TOKEN, "JIRA_TOKEN": PERSONAL_TOKEN}

    def fail(
        self,
        status: int,
        *,
        times: int | None = 1,
        page: int | None = None,
        retry_after: str | None = None,
        error_messages: list[str] | None = None,
    ) -> None:
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        body = {"errorMessages": error_messages or [], "errors": {}}
        self.faults.append(Fault(status, times, page, headers, body))

    def drop(self, *, times: int | None = 1, page: int | None = None) -> None:
        self.faults.append(Fault(0, times, page))

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def search_requests(self) -> list[Recorded]:
        return [request for request in self.requests if request.path in (CLOUD_PATH, SERVER_PATH)]

    def start(self) -> None:
        threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def answer(
        self, path: str, query: dict[str, str], headers: dict[str, str]
    ) -> tuple[int, dict[str, str], Any]:
        """Status, headers and JSON body (None: drop the connection) for one request."""
        with self._lock:
            self.requests.append(Recorded(path, query, headers))
            if path not in (CLOUD_PATH, SERVER_PATH):
                return 404, {}, {"errorMessages": ["null for uri: " + path]}
            if path == SERVER_PATH and self.cloud_only:
                return 410, {}, SEARCH_REMOVED
            if headers.get("Authorization") not in self._accepted_auth():
                return 401, {}, {"errorMessages": ["You are not authenticated."]}
            size = min(int(query.get("maxResults", 50)), self.max_results_cap)
            if path == CLOUD_PATH:
                token = query.get("nextPageToken", "offset-0")
                if not token.startswith("offset-"):
                    return 400, {}, {"errorMessages": ["The provided next page token is invalid or expired."]}
                start = int(token.removeprefix("offset-"))
            else:
                start = int(query.get("startAt", 0))
            fault = self._take_fault(start // size + 1)
            if fault:
                return fault.status, fault.headers, None if fault.status == 0 else fault.body
            return 200, {}, self._page(path, start, size, query.get("fields"), query.get("jql", ""))

    def _accepted_auth(self) -> set[str]:
        basic = b64encode(f"{EMAIL}:{API_TOKEN}".encode()).decode()
        return {f"Basic {basic}", f"Bearer {PERSONAL_TOKEN}"}

    def _take_fault(self, page: int) -> Fault | None:
        for fault in self.faults:
            if fault.page in (None, page) and fault.times != 0:
                if fault.times is not None:
                    fault.times -= 1
                return fault
        return None

    def _page(self, path: str, start: int, size: int, fields: str | None, jql: str) -> dict[str, Any]:
        issues = matching(self.issues, jql)
        chunk = [self._shape(issue, path, fields) for issue in issues[start : start + size]]
        following = start + len(chunk)
        if path == SERVER_PATH:
            return {"startAt": start, "maxResults": size, "total": len(issues), "issues": chunk}
        body: dict[str, Any] = {"issues": chunk, "isLast": following >= len(issues)}
        if not body["isLast"]:
            body["nextPageToken"] = f"offset-{following}"
        return body

    @staticmethod
    def _shape(issue: dict[str, Any], path: str, fields: str | None) -> dict[str, Any]:
        wanted = set(fields.split(",")) if fields else set(issue["fields"])
        shaped = {name: value for name, value in issue["fields"].items() if name in wanted}
        if path == CLOUD_PATH and "description" in shaped:
            shaped["description"] = text_to_adf(shaped["description"])
        return {"id": issue["id"], "key": issue["key"], "fields": shaped}


def matching(issues: list[dict[str, Any]], jql: str) -> list[dict[str, Any]]:
    """The issues an `updated >= "yyyy-MM-dd HH:mm"` clause in `jql` selects (all without one)."""
    clause = UPDATED_SINCE.search(jql)
    if clause is None:
        return issues
    since = datetime.strptime(clause[1], "%Y-%m-%d %H:%M")
    return [
        issue
        for issue in issues
        if jira_time(issue["fields"].get("updated") or issue["fields"]["created"]) >= since
    ]


def jira_time(value: str) -> datetime:
    """`2024-01-01T07:00:00.000+0000` (as Jira writes times) as a naive UTC datetime."""
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z").astimezone(UTC).replace(tzinfo=None)


def _handler_for(standin: JiraStandin) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = {name: values[0] for name, values in parse_qs(url.query).items()}
            status, headers, body = standin.answer(url.path, query, dict(self.headers.items()))
            if status == 0:
                self.close_connection = True
                return
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            """Keep test output quiet; `standin.requests` is the log."""

    return Handler


@pytest.fixture
def jira_standin() -> Iterator[JiraStandin]:
    standin = JiraStandin(synthetic_issues())
    standin.start()
    try:
        yield standin
    finally:
        standin.stop()
