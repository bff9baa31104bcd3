"""Every request body of the corpus (tests/fixtures/slack_requests/) sent, signed, through the routes
with the worker answering to the Slack stand-in; each entry's `expect` checked: the status, whether a
job ran, how many answers were posted, and that the answer (and a slash command's ack) shows the
question as the person typed it. No entry may produce a 5xx, a traceback or an ERROR line.

One bot and one model serve the whole module: every entry has its own ids, so entries never
deduplicate each other, and the posts an entry caused are the ones received while it was sent.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest

from chalicelib.slack.markup import unescape
from tests.support.live_bot import LiveBot, live_env
from tests.support.records import AllRecords, all_records
from tests.support.slack_standin import POST_MESSAGE_PATH, RESPONSE_PREFIX, SlackStandIn

CORPUS = Path(__file__).resolve().parent / "fixtures" / "slack_requests"
ROUTES = {"commands": "/slack/commands", "events": "/slack/events", "interactions": "/slack/interactions"}
SLACK_HOOKS = "https://hooks.slack.com/"
EXPECTATIONS = ("answer", "ignore", "usage", "challenge", "ack_only", "ssl_check", "feedback")
ANSWERED = ("answer", "feedback")
"""Expectations for which the worker runs one job and posts once (an answer, or a click's thanks)."""


def _entries() -> list[tuple[str, dict[str, Any]]]:
    return [
        (kind, entry)
        for kind in ROUTES
        for entry in json.loads((CORPUS / f"{kind}.json").read_text(encoding="utf-8"))
    ]


ENTRIES = _entries()


@pytest.fixture(scope="module")
def corpus_bot(
    tmp_path_factory: pytest.TempPathFactory, sample_model_dir: Path
) -> Iterator[tuple[LiveBot, AllRecords]]:
    patch = pytest.MonkeyPatch()
    with SlackStandIn() as slack, all_records() as records:
        env = live_env(tmp_path_factory.mktemp("corpus"), sample_model_dir, slack)
        with LiveBot.start(patch, env, slack) as bot:
            yield bot, records
    patch.undo()


def _to_standin(url: str, slack: SlackStandIn) -> str:
    assert url.startswith(SLACK_HOOKS), url
    return f"{slack.base_url}{RESPONSE_PREFIX}{url[len(SLACK_HOOKS) :]}"


def build_body(kind: str, entry: dict[str, Any], slack: SlackStandIn) -> bytes:
    """The bytes Slack would send, with Slack's response_url host pointed at the stand-in."""
    if "raw_body" in entry:
        encoded_hooks = quote(SLACK_HOOKS, safe="")
        encoded_standin = quote(f"{slack.base_url}{RESPONSE_PREFIX}", safe="")
        return entry["raw_body"].replace(encoded_hooks, encoded_standin).encode("utf-8")
    body = entry["body"]
    if kind == "commands":
        form = {**body, "response_url": _to_standin(body["response_url"], slack)}
        return urlencode(form).encode()
    if kind == "events":
        return json.dumps(body).encode()
    payload = dict(body["payload"])
    if payload.get("response_url"):
        payload["response_url"] = _to_standin(payload["response_url"], slack)
    return urlencode({"payload": json.dumps(payload)}).encode()


def _where_answered(kind: str, entry: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The stand-in path the answer must reach, and what its body must say about the place."""
    if kind == "events":
        event = entry["body"]["event"]
        return POST_MESSAGE_PATH, {
            "channel": event["channel"],
            "thread_ts": event.get("thread_ts") or event["ts"],
        }
    return RESPONSE_PREFIX, {}


def test_the_corpus_covers_every_expectation_and_the_issues_shapes() -> None:
    counts = {expect: sum(entry["expect"] == expect for _, entry in ENTRIES) for expect in EXPECTATIONS}
    assert len(ENTRIES) >= 40
    assert all(counts.values()), counts
    names = {entry["name"] for _, entry in ENTRIES}
    assert len(names) == len(ENTRIES), "entry names must be unique"
    assert all(entry["source"].strip() for _, entry in ENTRIES)
    assert sum("charset" in entry["content_type"] for _, entry in ENTRIES) >= 3


@pytest.mark.parametrize(("kind", "entry"), ENTRIES, ids=[entry["name"] for _, entry in ENTRIES])
def test_each_body_is_handled_as_expected(
    corpus_bot: tuple[LiveBot, AllRecords], kind: str, entry: dict[str, Any]
) -> None:
    bot, records = corpus_bot
    expect, as_typed = entry["expect"], entry["as_typed"]
    before_posts, before_records = len(bot.slack.received), len(records.records)

    response = bot.post(
        ROUTES[kind], build_body(kind, entry, bot.slack), entry["content_type"], **entry.get("headers", {})
    )

    posts = bot.slack.received[before_posts:]
    logged = records.records[before_records:]
    events = [record.getMessage() for record in logged if record.name.startswith("chalicelib")]
    assert response.status_code == 200, response.body[:300]
    assert [r.getMessage() for r in logged if r.levelno >= logging.ERROR] == []
    assert not any(record.exc_info for record in logged), "a traceback was logged"
    assert events.count("job_done") == (1 if expect in ANSWERED else 0), events
    assert len(posts) == (1 if expect in ANSWERED else 0), [post.path for post in posts]
    assert all(post.accepted for post in posts)

    reply = json.loads(response.body) if response.body else None
    if expect == "answer":
        path, place = _where_answered(kind, entry)
        [post] = posts
        assert post.path.startswith(path)
        assert {key: post.body[key] for key in place} == place
        if as_typed is not None:
            assert as_typed in unescape(post.body["text"])  # as Slack shows the (escaped) text
            if kind == "commands":
                assert as_typed in unescape(reply["text"])
                assert reply["text"].startswith("Looking for who knows")
    elif expect == "usage":
        assert "Ask me which team can help" in reply["text"]
    elif expect == "challenge":
        assert reply == {"challenge": entry["body"]["challenge"]}
    elif expect == "ssl_check":
        assert response.body == b""
    elif expect in ("ignore", "ack_only"):
        assert reply == {"ok": True}
    elif expect == "feedback":
        assert reply == {"ok": True}
        [line] = [record for record in logged if record.getMessage() == "feedback"]
        fields = line.fields  # type: ignore[attr-defined]
        wanted = entry["feedback"]
        assert (fields["verdict"], fields["question_id"], fields["suggested_team"]) == (
            wanted["verdict"],
            wanted["q"],
            wanted["team"],
        )
        assert posts[0].path.startswith(RESPONSE_PREFIX) and "Thanks" in posts[0].body["text"]
