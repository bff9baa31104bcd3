"""The Jira client against the real-HTTP stand-in: paging, auth, retries, errors, ADF, team fields."""

from __future__ import annotations

import re
from base64 import b64decode

import pytest

from export.errors import UserError
from export.jira import (
    CLOUD,
    SERVER,
    JiraClient,
    SearchRemoved,
    adf_to_text,
    authorization_from_env,
    default_flavor,
    issue_to_ticket,
    search_fields,
    team_name,
)
from tests.support.jira_standin import EMAIL, JiraStandin, synthetic_issues


class Sleeps(list[float]):
    """Records waits instead of sleeping, so retry tests are instant and can check the timing."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client(standin: JiraStandin, flavor: str, sleeps: Sleeps | None = None, **options: object) -> JiraClient:
    return JiraClient(
        base_url=standin.base_url + "/",
        flavor=flavor,
        authorization=authorization_from_env(flavor, standin.env()),
        page_size=5,
        sleep=sleeps if sleeps is not None else Sleeps(),
        **options,  # type: ignore[arg-type]
    )


def collect(jira: JiraClient, team_field: str = "project") -> list:
    return [
        issue_to_ticket(issue, team_field)
        for page in jira.pages("project in (PAY, SRCH, PLAT)", search_fields(team_field))
        for issue in page.issues
    ]


@pytest.mark.parametrize("flavor", [CLOUD, SERVER])
def test_pages_through_every_issue_with_descriptions_as_text(jira_standin: JiraStandin, flavor: str) -> None:
    tickets = collect(client(jira_standin, flavor))

    expected = synthetic_issues()
    assert [ticket.key for ticket in tickets] == [issue["key"] for issue in expected]
    assert [ticket.description for ticket in tickets] == [
        issue["fields"]["description"] or "" for issue in expected
    ]
    assert tickets[0].team == expected[0]["fields"]["project"]["key"]
    assert tickets[0].created == expected[0]["fields"]["created"]
    assert len(jira_standin.search_requests()) == 5


def test_cloud_follows_next_page_tokens_with_basic_auth(jira_standin: JiraStandin) -> None:
    collect(client(jira_standin, CLOUD), team_field="components")

    requests = jira_standin.search_requests()
    assert [request.query.get("nextPageToken") for request in requests] == [
        None,
        "offset-5",
        "offset-10",
        "offset-15",
        "offset-20",
    ]
    assert {request.path for request in requests} == {"/rest/api/3/search/jql"}
    assert requests[0].query["fields"] == "summary,description,created,components"
    assert requests[0].query["maxResults"] == "5"
    scheme, credentials = requests[0].headers["Authorization"].split()
    assert scheme == "Basic" and b64decode(credentials).decode().startswith(EMAIL + ":")


def test_server_pages_by_what_it_got_when_jira_caps_max_results(jira_standin: JiraStandin) -> None:
    jira_standin.max_results_cap = 4

    tickets = collect(client(jira_standin, SERVER))

    requests = jira_standin.search_requests()
    assert [request.query["startAt"] for request in requests] == ["0", "4", "8", "12", "16", "20"]
    assert len(tickets) == 23
    assert requests[0].headers["Authorization"] == "Bearer server-personal-token"


def test_429_waits_as_long_as_retry_after_says(jira_standin: JiraStandin) -> None:
    jira_standin.fail(429, page=2, retry_after="7")
    sleeps = Sleeps()

    tickets = collect(client(jira_standin, CLOUD, sleeps))

    assert sleeps == [7.0]
    assert len(tickets) == 23


def test_a_huge_retry_after_is_capped(jira_standin: JiraStandin) -> None:
    jira_standin.fail(429, retry_after="86400")
    sleeps = Sleeps()

    collect(client(jira_standin, SERVER, sleeps, max_wait=30.0))

    assert sleeps == [30.0]


@pytest.mark.parametrize("flavor", [CLOUD, SERVER])
def test_transient_500_and_dropped_connections_are_retried_with_backoff(
    jira_standin: JiraStandin, flavor: str
) -> None:
    jira_standin.fail(500, page=1)
    jira_standin.drop(page=3)
    jira_standin.fail(503, page=3)
    sleeps = Sleeps()

    tickets = collect(client(jira_standin, flavor, sleeps, backoff=0.5))

    assert len(tickets) == 23
    assert sleeps == [0.5, 0.5, 1.0]


def test_persistent_5xx_becomes_a_user_error_after_bounded_attempts(jira_standin: JiraStandin) -> None:
    jira_standin.fail(502, times=None, page=2)
    sleeps = Sleeps()

    with pytest.raises(UserError, match=r"kept answering HTTP 502 .* after 4 attempts"):
        collect(client(jira_standin, CLOUD, sleeps, max_attempts=4))

    assert sleeps == [1.0, 2.0, 4.0]


def test_unreachable_jira_is_a_user_error() -> None:
    jira = JiraClient("http://127.0.0.1:9", SERVER, "Bearer x", max_attempts=2, sleep=Sleeps())

    with pytest.raises(
        UserError, match=re.escape("could not reach Jira at http://127.0.0.1:9 after 2 attempts")
    ):
        jira.fetch_page("x", ["summary"], None)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (401, "Jira rejected the credentials (HTTP 401): set JIRA_EMAIL and JIRA_API_TOKEN"),
        (403, "Jira rejected the credentials (HTTP 403)"),
        (400, "Jira refused the search (HTTP 400): Field 'teem' does not exist.; check --jql"),
        (410, "Jira answered HTTP 410"),
    ],
)
def test_final_http_errors_are_not_retried(jira_standin: JiraStandin, status: int, expected: str) -> None:
    jira_standin.fail(status, error_messages=["Field 'teem' does not exist."])
    sleeps = Sleeps()

    with pytest.raises(UserError) as raised:
        collect(client(jira_standin, CLOUD, sleeps))

    assert expected in str(raised.value)
    assert sleeps == []
    assert len(jira_standin.search_requests()) == 1


def test_wrong_credentials_are_rejected(jira_standin: JiraStandin) -> None:
    jira = JiraClient(jira_standin.base_url, CLOUD, "Bearer wrong", sleep=Sleeps())

    with pytest.raises(UserError, match=r"HTTP 401"):
        jira.fetch_page("x", ["summary"], None)


def test_404_points_at_base_url_and_flavour(jira_standin: JiraStandin) -> None:
    jira = JiraClient(jira_standin.base_url + "/jira", SERVER, "Bearer x", sleep=Sleeps())

    with pytest.raises(UserError) as raised:
        jira.fetch_page("x", ["summary"], None)

    message = str(raised.value)
    assert f"{jira_standin.base_url}/jira/rest/api/2/search (HTTP 404)" in message
    assert "--flavor cloud" in message


def test_credentials_come_from_the_environment_only() -> None:
    with pytest.raises(UserError, match="set JIRA_EMAIL and JIRA_API_TOKEN"):
        authorization_from_env(CLOUD, {})
    both = {"JIRA_EMAIL": "a@b.c", "JIRA_API_TOKEN": "t", "JIRA_TOKEN": "pat"}
    assert authorization_from_env(CLOUD, both).startswith("Basic ")
    assert authorization_from_env(SERVER, both) == "Bearer pat"
    assert authorization_from_env(SERVER, {"JIRA_EMAIL": "a@b.c", "JIRA_API_TOKEN": "t"}).startswith("Basic ")


def test_flavour_defaults_from_the_host() -> None:
    assert default_flavor("https://acme.atlassian.net") == CLOUD
    assert default_flavor("https://jira.acme.internal/jira") == SERVER
    with pytest.raises(UserError, match="must start with https://"):
        JiraClient("acme.atlassian.net", CLOUD, "Basic x")


@pytest.mark.parametrize(
    ("field", "value", "team"),
    [
        ("project", {"key": "PAY", "name": "Payments project"}, "PAY"),
        ("components", [{"name": "Billing"}, {"name": "Ledger"}], "Billing"),
        ("components", [], ""),
        ("customfield_10010", " Search ", "Search"),
        ("customfield_10010", {"value": "Search", "id": "3"}, "Search"),
        ("customfield_10010", {"name": "Platform", "id": "ari:team/1"}, "Platform"),
        ("customfield_10010", [{"value": ""}, {"value": "Ops"}], "Ops"),
        ("customfield_10010", None, ""),
    ],
)
def test_team_from_any_field_shape(field: str, value: object, team: str) -> None:
    assert team_name(value, field) == team


def test_adf_to_text_keeps_one_line_per_block() -> None:
    def text(value: str, **extra: object) -> dict:
        return {"type": "text", "text": value, **extra}

    document = {
        "type": "doc",
        "version": 1,
        "content": [
            {"type": "heading", "attrs": {"level": 2}, "content": [text("Nightly export")]},
            {
                "type": "paragraph",
                "content": [
                    text("Times out for "),
                    {"type": "mention", "attrs": {"id": "1", "text": "@Ana"}},
                    text(" since Monday", marks=[{"type": "em"}]),
                    {"type": "hardBreak"},
                    text("again "),
                    {"type": "emoji", "attrs": {"shortName": ":fire:"}},
                ],
            },
            {
                "type": "bulletList",
                "content": [
                    {"type": "listItem", "content": [{"type": "paragraph", "content": [text("step one")]}]},
                    {"type": "listItem", "content": [{"type": "paragraph", "content": [text("step two")]}]},
                ],
            },
            {
                "type": "codeBlock",
                "attrs": {"language": "java"},
                "content": [text("at Export.run(Export.java:9)")],
            },
            {"type": "rule"},
            {"type": "paragraph", "content": [{"type": "inlineCard", "attrs": {"url": "https://x.test/1"}}]},
        ],
    }

    assert adf_to_text(document) == (
        "Nightly export\nTimes out for @Ana since Monday\nagain :fire:\nstep one\nstep two\n"
        "at Export.run(Export.java:9)\nhttps://x.test/1"
    )
    assert adf_to_text(None) == ""
    assert adf_to_text("h2. wiki *markup* stays") == "h2. wiki *markup* stays"


def _paragraph(*content: dict) -> dict:
    return {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": list(content)}]}


@pytest.mark.parametrize(
    ("document", "text"),
    [
        # Atlassian's inlineCard example: "Hello " + card + " world" keeps its own spaces.
        (
            _paragraph(
                {"type": "text", "text": "Hello "},
                {"type": "inlineCard", "attrs": {"url": "https://jira.atlassian.com/browse/JRACLOUD-72220"}},
                {"type": "text", "text": " world"},
            ),
            "Hello https://jira.atlassian.com/browse/JRACLOUD-72220 world",
        ),
        # A card right after a word, and two cards in a row, are separated.
        (
            _paragraph(
                {"type": "text", "text": "Inline Node"},
                {"type": "inlineCard", "attrs": {"url": "https://x.test/1"}},
                {"type": "inlineCard", "attrs": {"data": {"@type": "Document", "url": "https://x.test/2"}}},
            ),
            "Inline Node https://x.test/1 https://x.test/2",
        ),
        # Atlassian's link mark example: the link text, then its URL.
        (
            _paragraph(
                {
                    "type": "text",
                    "text": "Hello world",
                    "marks": [
                        {"type": "link", "attrs": {"href": "http://atlassian.com", "title": "Atlassian"}}
                    ],
                },
                {"type": "text", "text": "and more"},
            ),
            "Hello world http://atlassian.com and more",
        ),
        # A link whose text is its URL is not repeated; punctuation after a link stays attached.
        (
            _paragraph(
                {"type": "text", "text": "see "},
                {
                    "type": "text",
                    "text": "https://x.test/a",
                    "marks": [{"type": "link", "attrs": {"href": "https://x.test/a"}}],
                },
                {"type": "text", "text": "."},
            ),
            "see https://x.test/a.",
        ),
        # Atlassian's status example: a status followed by text without a space.
        (
            _paragraph(
                {"type": "status", "attrs": {"color": "yellow", "text": "IN PROGRESS"}},
                {"type": "text", "text": "Learn more about ADF"},
            ),
            "IN PROGRESS Learn more about ADF",
        ),
        # Mentions and emoji between words without spaces; dates carry no words.
        (
            _paragraph(
                {"type": "text", "text": "cc"},
                {"type": "mention", "attrs": {"id": "ABCDE-ABCDE-ABCDE-ABCDE", "text": "@Bradley Ayers"}},
                {"type": "emoji", "attrs": {"shortName": ":grinning:", "text": "😀"}},
                {"type": "text", "text": "due"},
                {"type": "date", "attrs": {"timestamp": "1582152559"}},
            ),
            "cc @Bradley Ayers 😀 due",
        ),
        # A block card is a line of its own.
        (
            {
                "type": "doc",
                "version": 1,
                "content": [
                    {"type": "paragraph", "content": [{"type": "text", "text": "Context:"}]},
                    {"type": "blockCard", "attrs": {"url": "https://x.test/board"}},
                ],
            },
            "Context:\nhttps://x.test/board",
        ),
    ],
)
def test_adf_keeps_links_cards_and_mentions_apart_from_words(document: dict, text: str) -> None:
    assert adf_to_text(document) == text


def test_410_on_server_search_names_the_cloud_flavour(jira_standin: JiraStandin) -> None:
    jira_standin.cloud_only = True
    with pytest.raises(SearchRemoved) as raised:
        client(jira_standin, SERVER).fetch_page("project = PAY", ["summary"], None)

    assert "HTTP 410 Gone" in str(raised.value) and "pass --flavor cloud" in str(raised.value)
    assert "Please migrate to the /rest/api/3/search/jql API" in str(raised.value)
    assert raised.value.url == f"{jira_standin.base_url}/rest/api/2/search"
