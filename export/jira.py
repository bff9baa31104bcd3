"""A small Jira REST client for collecting tickets: paging, retries and operator-readable errors.

Two API flavours: Jira Cloud (`/rest/api/3/search/jql`, cursor paging, descriptions in Atlassian
Document Format) and Jira Server/Data Center (`/rest/api/2/search`, offset paging, wiki-markup
descriptions). Standard library only, so collecting needs nothing beyond Python.
Credentials come from the environment only, so they never land in shell history or files.
"""

from __future__ import annotations

import http.client
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from base64 import b64encode
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from export.errors import UserError
from export.tickets import Ticket

CLOUD = "cloud"
SERVER = "server"
SEARCH_PATHS = {CLOUD: "/rest/api/3/search/jql", SERVER: "/rest/api/2/search"}
TRANSIENT_STATUSES = frozenset({500, 502, 503, 504})
CREDENTIALS_HINT = (
    "set JIRA_EMAIL and JIRA_API_TOKEN (Jira Cloud API token) or JIRA_TOKEN "
    "(Server/Data Center personal access token)"
)
# ADF nodes that sit inside a line of text; every other node with content is a block (a line).
_INLINE_NODES = frozenset(
    {"text", "hardBreak", "mention", "emoji", "inlineCard", "date", "status", "mediaInline", "placeholder"}
)
# Block-level link cards: no content, only a URL, which becomes a line of its own.
_CARD_BLOCKS = frozenset({"blockCard", "embedCard"})
_CLOSING_PUNCTUATION = tuple(".,;:!?)]}'\"")


class SearchRemoved(UserError):
    """HTTP 410 from Server's search path: the site is Jira Cloud, which removed /rest/api/2/search."""

    def __init__(self, message: str, url: str) -> None:
        super().__init__(message)
        self.url = url


Cursor = str | int | None
"""Where a page starts: Cloud's nextPageToken (None for the first page) or Server's startAt."""


@dataclass(frozen=True)
class Page:
    issues: list[dict[str, Any]]
    next: Cursor
    """Cursor of the following page; None when this page was the last."""
    total: int | None
    """Matching issues in all, when the API says (Server only)."""


def default_flavor(base_url: str) -> str:
    """Cloud sites all live under atlassian.net; anything else is self-hosted."""
    host = urllib.parse.urlsplit(base_url).hostname or ""
    return CLOUD if host.endswith(".atlassian.net") else SERVER


def authorization_from_env(flavor: str, environ: Mapping[str, str] = os.environ) -> str:
    """The Authorization header value, preferring what the flavour normally uses."""
    email, api_token, token = (environ.get(name) for name in ("JIRA_EMAIL", "JIRA_API_TOKEN", "JIRA_TOKEN"))
    basic = f"Basic {b64encode(f'{email}:{api_token}'.encode()).decode()}" if email and api_token else None
    bearer = f"Bearer {token}" if token else None
    preferred = [basic, bearer] if flavor == CLOUD else [bearer, basic]
    header = next((value for value in preferred if value), None)
    if header is None:
        raise UserError(f"no Jira credentials in the environment: {CREDENTIALS_HINT}")
    return header


DEFAULT_PAGE_SIZE = 100
"""Issues asked for per search request; Jira may send fewer, and paging follows what it sends."""


@dataclass
class JiraClient:
    base_url: str
    flavor: str
    authorization: str
    page_size: int = DEFAULT_PAGE_SIZE
    max_attempts: int = 6
    backoff: float = 1.0
    """First wait after a transient failure; doubles each attempt."""
    max_wait: float = 120.0
    """Cap on any single wait, Retry-After included, so a silly header cannot hang a run."""
    timeout: float = 60.0
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        if urllib.parse.urlsplit(self.base_url).scheme not in ("http", "https"):
            raise UserError(f"--base-url must start with https:// (got {self.base_url!r})")
        if self.flavor not in SEARCH_PATHS:
            raise UserError(f"unknown Jira flavour {self.flavor!r}; use cloud or server")
        self.base_url = self.base_url.rstrip("/")

    def pages(self, jql: str, fields: list[str], start: Cursor = None) -> Iterator[Page]:
        """Every page of the search from `start` on, so callers can checkpoint between pages."""
        cursor = start
        while True:
            page = self.fetch_page(jql, fields, cursor)
            yield page
            if page.next is None:
                return
            cursor = page.next

    def fetch_page(self, jql: str, fields: list[str], cursor: Cursor) -> Page:
        params: dict[str, str | int] = {"jql": jql, "fields": ",".join(fields), "maxResults": self.page_size}
        if self.flavor == CLOUD:
            if cursor is not None:
                params["nextPageToken"] = str(cursor)
            body = self.get_json(SEARCH_PATHS[CLOUD], params)
            issues = body.get("issues") or []
            token = body.get("nextPageToken")
            return Page(issues, None if body.get("isLast") or not token else str(token), None)
        start_at = int(cursor or 0)
        params["startAt"] = start_at
        body = self.get_json(SEARCH_PATHS[SERVER], params)
        issues = body.get("issues") or []
        total = body.get("total")
        following = start_at + len(issues)
        done = not issues or (isinstance(total, int) and following >= total)
        return Page(issues, None if done else following, total if isinstance(total, int) else None)

    def get_json(self, path: str, params: Mapping[str, str | int]) -> dict[str, Any]:
        """GET with retries on 429, transient 5xx and dropped connections; other failures are final."""
        url = f"{self.base_url}{path}?{urllib.parse.urlencode(params)}"
        request = urllib.request.Request(
            url, headers={"Accept": "application/json", "Authorization": self.authorization}
        )
        for attempt in range(1, self.max_attempts + 1):
            last = attempt == self.max_attempts
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    return self._parse(response.read(), path)
            except urllib.error.HTTPError as error:
                body = error.read()
                if error.code != 429 and error.code not in TRANSIENT_STATUSES:
                    raise self._http_error(error.code, body, path) from None
                if last:
                    raise UserError(
                        f"Jira kept answering HTTP {error.code} at {self.base_url}{path} after "
                        f"{self.max_attempts} attempts; try again later or lower --page-size"
                    ) from None
                self.sleep(self._wait(attempt, error.headers.get("Retry-After")))
            except (OSError, http.client.HTTPException) as error:
                if last:
                    raise UserError(
                        f"could not reach Jira at {self.base_url} after {self.max_attempts} attempts "
                        f"({_reason(error)}); check --base-url and the network"
                    ) from None
                self.sleep(self._wait(attempt, None))
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _wait(self, attempt: int, retry_after: str | None) -> float:
        try:
            wanted = float(retry_after) if retry_after is not None else None
        except ValueError:
            wanted = None  # an HTTP-date; Jira sends seconds, so back off instead of parsing it
        if wanted is None or wanted < 0:
            wanted = self.backoff * 2 ** (attempt - 1)
        return min(wanted, self.max_wait)

    def _parse(self, raw: bytes, path: str) -> dict[str, Any]:
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise UserError(
                f"{self.base_url}{path} did not answer with Jira JSON (a login page or proxy?); "
                "check --base-url is the Jira site root"
            )
        return body

    def _http_error(self, status: int, body: bytes, path: str) -> UserError:
        if status in (401, 403):
            return UserError(
                f"Jira rejected the credentials (HTTP {status}): {CREDENTIALS_HINT}, "
                "and check the account may browse the projects"
            )
        if status == 404:
            other = SERVER if self.flavor == CLOUD else CLOUD
            return UserError(
                f"Jira has no {self.base_url}{path} (HTTP 404): check --base-url is the site root and "
                f"--flavor (this is the {self.flavor} API; try --flavor {other})"
            )
        messages = _error_messages(body)
        if status == 410 and self.flavor == SERVER:
            return SearchRemoved(
                f"Jira answered HTTP 410 Gone at {self.base_url}{path} ({messages or 'no details'}): "
                "this is Jira Cloud, which removed that search API; pass --flavor cloud",
                f"{self.base_url}{path}",
            )
        if status == 400:
            return UserError(
                f"Jira refused the search (HTTP 400): {messages or 'no reason given'}; check --jql"
            )
        return UserError(f"Jira answered HTTP {status} at {self.base_url}{path}: {messages or 'no details'}")


def _error_messages(body: bytes) -> str:
    """Jira's {"errorMessages": [...], "errors": {field: message}} as one line."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return ""
    if not isinstance(parsed, dict):
        return ""
    messages = [str(message) for message in parsed.get("errorMessages") or []]
    messages += [f"{field}: {message}" for field, message in (parsed.get("errors") or {}).items()]
    return "; ".join(" ".join(message.split()) for message in messages)


def _reason(error: BaseException) -> str:
    return str(getattr(error, "reason", None) or error or type(error).__name__)


def search_fields(team_field: str) -> list[str]:
    """Ask only for what a Ticket needs: full issues are large and slow to page through."""
    return ["summary", "description", "created", team_field]


def issue_to_ticket(issue: Mapping[str, Any], team_field: str, base_url: str | None = None) -> Ticket:
    """A Ticket from a search result; team is "" when the issue has none (callers skip it). With the
    site's `base_url`, the ticket's own page (`/browse/KEY`), which answers link to."""
    fields = issue.get("fields") or {}
    key = str(issue.get("key") or issue.get("id") or "")
    return Ticket(
        key=key,
        summary=str(fields.get("summary") or ""),
        description=adf_to_text(fields.get("description")),
        team=team_name(fields.get(team_field), team_field),
        created=str(fields.get("created") or ""),
        url=f"{base_url.rstrip('/')}/browse/{key}" if base_url and issue.get("key") else "",
    )


def team_name(value: Any, team_field: str) -> str:
    """The team out of a field value: a string, an option/object, or a list of those (first wins)."""
    if isinstance(value, list):
        return next((name for name in (team_name(item, team_field) for item in value) if name), "")
    if isinstance(value, dict):
        keys = (
            ("key", "name") if team_field == "project" else ("value", "name", "displayName", "title", "key")
        )
        return next((str(value[key]).strip() for key in keys if value.get(key)), "")
    return str(value).strip() if value is not None else ""


def adf_to_text(document: Any) -> str:
    """Plain text from an Atlassian Document Format description (Cloud); strings pass through (Server).

    One line per block (paragraph, heading, list item, code block, table cell); formatting marks are
    dropped. A link keeps its text and its URL, and links, cards, mentions, emoji and statuses are
    kept apart from the words beside them: glued together ("Nodehttps://…") they would become
    words no question contains.
    """
    if document is None:
        return ""
    if isinstance(document, str):
        return document
    return "\n".join(_adf_blocks(document))


def _adf_blocks(node: Mapping[str, Any]) -> Iterator[str]:
    if node.get("type") in _CARD_BLOCKS:
        url = _card_url(node.get("attrs") or {})
        if url:
            yield url
        return
    children = node.get("content") or []
    if any(child.get("type") in _INLINE_NODES for child in children):
        yield _adf_line(children)
    else:
        for child in children:
            yield from _adf_blocks(child)


def _adf_line(children: list[Mapping[str, Any]]) -> str:
    """Inline nodes joined as written, with a space wherever a self-contained piece meets a word."""
    line = ""
    previous_whole = False
    for child in children:
        text, whole = _adf_inline(child)
        if not text:
            continue
        touching = line and not line[-1].isspace() and not text[0].isspace()
        if touching and (whole or (previous_whole and not text.startswith(_CLOSING_PUNCTUATION))):
            line += " "
        line += text
        previous_whole = whole
    return line


def _adf_inline(node: Mapping[str, Any]) -> tuple[str, bool]:
    """The node's text, and whether it is a self-contained piece (a link, mention, emoji, card…)."""
    kind, attrs = node.get("type"), node.get("attrs") or {}
    if kind == "text":
        text = str(node.get("text") or "")
        href = next(
            (
                str((mark.get("attrs") or {}).get("href") or "")
                for mark in node.get("marks") or []
                if mark.get("type") == "link"
            ),
            "",
        )
        if not href:
            return text, False
        return (text if href in text else f"{text} {href}".strip()), True
    if kind == "hardBreak":
        return "\n", False
    if kind == "inlineCard":
        return _card_url(attrs), True
    if kind in ("mention", "emoji", "status"):
        return str(attrs.get("text") or attrs.get("shortName") or ""), True
    if kind in _INLINE_NODES:
        return "", False  # dates, media and placeholders carry no words a question would use
    return "\n".join(_adf_blocks(node)), False


def _card_url(attrs: Mapping[str, Any]) -> str:
    """A card's URL: given directly, or inside its JSON-LD `data` (the spec allows either)."""
    data = attrs.get("data") if isinstance(attrs.get("data"), Mapping) else {}
    return str(attrs.get("url") or data.get("url") or "")
