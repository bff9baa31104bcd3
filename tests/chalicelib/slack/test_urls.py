"""The response_url allowlist: Slack's hosts only, plus exact host:port stand-ins."""

from __future__ import annotations

import pytest

from chalicelib.slack.urls import UnsafeResponseUrl, check_response_url


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/commands/T1/1/abc",
        "http://hooks.slack.com/commands/T1/1/abc",
        "https://hooks.slack.com:8443/commands/T1/1/abc",
        "https://hooks.slack.com.evil.example/commands/T1/1/abc",
        "https://hooks.slack.com@evil.example/commands/T1/1/abc",
        "https://hooks.slack.com:99999/commands",
        "file:///etc/passwd",
        "not a url",
    ],
)
def test_production_allowlist(url: str) -> None:
    with pytest.raises(UnsafeResponseUrl):
        check_response_url(url)


def test_production_allowlist_accepts_slack() -> None:
    check_response_url("https://hooks.slack.com/commands/T1DC2JH3J/397700885554/96rGlfmibIGlgcZRskXaIFfN")
    check_response_url("https://HOOKS.slack.com:443/actions/T1/1/abc")


def test_a_stand_in_is_allowed_by_exact_host_and_port_only() -> None:
    allowed = frozenset({"127.0.0.1:8123"})
    check_response_url("http://127.0.0.1:8123/response/x", allowed)
    for url in ("http://127.0.0.1:8124/response/x", "http://localhost:8123/response/x"):
        with pytest.raises(UnsafeResponseUrl):
            check_response_url(url, allowed)


def test_the_reason_names_the_host_not_the_url() -> None:
    with pytest.raises(UnsafeResponseUrl) as refused:
        check_response_url("https://evil.example/commands/T1/1/secret-part")
    assert "evil.example" in refused.value.reason
    assert "secret-part" not in refused.value.reason
