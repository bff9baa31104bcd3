"""Posting through the real slack_sdk clients to the Slack stand-in, faults included."""

from __future__ import annotations

import socket
import time

import pytest
from slack_sdk.web.client import WebClient

from chalicelib.slack.post import (
    ForbiddenResponseUrl,
    PostFailed,
    make_web_client,
    post_in_thread,
    post_to_response_url,
)
from chalicelib.slack.render import RankedTeam, render_answer
from tests.support.slack_standin import Fault, SlackStandIn

MESSAGE = render_answer(
    "Refund stuck in pending?", [RankedTeam("PAYMENTS", 0.9, "Payments", "#payments-help")], 0.5
)


def post(standin: SlackStandIn, timeout: float = 2.0) -> None:
    post_to_response_url(standin.response_url("cmd"), MESSAGE, frozenset({standin.host}), timeout=timeout)


def test_response_url_post_delivers_the_payload(slack_standin: SlackStandIn) -> None:
    post(slack_standin)
    (delivered,) = slack_standin.wait_for(1)
    assert delivered.path == "/response/cmd"
    assert delivered.body == MESSAGE.payload()
    assert delivered.headers["Content-Type"].startswith("application/json")


@pytest.mark.parametrize("fault", [Fault.SERVER_ERROR, Fault.DROP], ids=["500", "connection-closed"])
def test_transient_failure_then_success_delivers_once(slack_standin: SlackStandIn, fault: Fault) -> None:
    slack_standin.fail_next(fault)
    post(slack_standin)
    assert [request.fault for request in slack_standin.received] == [fault, None]
    assert len(slack_standin.accepted) == 1


def test_timeout_then_success(slack_standin: SlackStandIn) -> None:
    slack_standin.fail_next(Fault.SLOW)
    started = time.monotonic()
    post(slack_standin, timeout=0.5)
    assert time.monotonic() - started < slack_standin.slow_seconds + 1.5
    assert [request.fault for request in slack_standin.received] == [Fault.SLOW, None]
    assert len(slack_standin.accepted) == 1


def test_rate_limit_waits_for_retry_after(slack_standin: SlackStandIn) -> None:
    slack_standin.fail_next(Fault.RATE_LIMITED)
    post(slack_standin)
    limited, delivered = slack_standin.received
    assert (limited.fault, delivered.accepted) == (Fault.RATE_LIMITED, True)
    assert delivered.at - limited.at >= slack_standin.retry_after


def test_retry_after_beyond_the_budget_gives_up_at_once(slack_standin: SlackStandIn) -> None:
    slack_standin.retry_after = 120
    slack_standin.fail_next(Fault.RATE_LIMITED)
    started = time.monotonic()
    with pytest.raises(PostFailed, match="HTTP 429"):
        post(slack_standin)
    assert time.monotonic() - started < 1.0
    assert len(slack_standin.received) == 1


def test_persistent_server_error_gives_up_after_bounded_retries(slack_standin: SlackStandIn) -> None:
    slack_standin.fail_next(*[Fault.SERVER_ERROR] * 5)
    with pytest.raises(PostFailed, match="answered HTTP 500") as caught:
        post(slack_standin)
    assert len(slack_standin.received) == 3
    assert "/response/cmd" not in caught.value.reason, "the response_url path is a credential"


def test_unreachable_host_fails_with_a_reason() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(PostFailed, match="could not reach"):
        post_to_response_url(
            f"http://127.0.0.1:{port}/response/x", MESSAGE, frozenset({f"127.0.0.1:{port}"}), timeout=0.5
        )


def test_forbidden_urls_are_refused_before_any_request(slack_standin: SlackStandIn) -> None:
    allowed = frozenset({slack_standin.host})
    port = slack_standin.host.split(":")[1]
    refused = [
        slack_standin.response_url("x"),  # default allowlist: production only
        f"http://127.0.0.1:{int(port) + 1}/response/x",
        f"http://localhost:{port}/response/x",
        f"http://user:pw@127.0.0.1:{port}/response/x",
        f"ftp://127.0.0.1:{port}/response/x",
    ]
    with pytest.raises(ForbiddenResponseUrl):
        post_to_response_url(refused[0], MESSAGE)
    for url in refused[1:]:
        with pytest.raises(ForbiddenResponseUrl):
            post_to_response_url(url, MESSAGE, allowed)
    assert slack_standin.received == []


def test_post_in_thread_reaches_the_web_api(slack_standin: SlackStandIn) -> None:
    client = make_web_client("xoxb-test-token", slack_standin.api_url)
    post_in_thread(client, "C0QUESTIONS", "1700000000.000100", MESSAGE)
    (delivered,) = slack_standin.wait_for(1)
    assert delivered.path == "/api/chat.postMessage"
    assert delivered.headers["Authorization"] == "Bearer xoxb-test-token"
    assert delivered.body["channel"] == "C0QUESTIONS"
    assert delivered.body["thread_ts"] == "1700000000.000100"
    assert (delivered.body["text"], delivered.body["blocks"]) == (MESSAGE.text, MESSAGE.blocks)


def test_post_in_thread_retries_a_server_error(slack_standin: SlackStandIn) -> None:
    slack_standin.fail_next(Fault.SERVER_ERROR)
    post_in_thread(make_web_client("xoxb-test-token", slack_standin.api_url), "C1", "1.0", MESSAGE)
    assert [request.accepted for request in slack_standin.received] == [False, True]


def test_post_in_thread_reports_slack_errors(slack_standin: SlackStandIn) -> None:
    with pytest.raises(PostFailed, match="not_authed"):
        post_in_thread(WebClient(base_url=slack_standin.api_url), "C1", "1.0", MESSAGE)
