"""The one TLS context every post uses: built once, verifying, and working against a real https
stand-in whose certificate comes from a test CA (trustme) trusted through SSL_CERT_FILE."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
import trustme

from chalicelib.slack import tls
from chalicelib.slack.post import PostFailed, make_web_client, post_in_thread, post_to_response_url
from chalicelib.slack.render import render_error
from tests.support.slack_standin import SlackStandIn

MESSAGE = render_error("a test answer")


@pytest.fixture
def fresh_context(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test builds the context from its own environment; the process's own comes back after."""
    monkeypatch.setattr(tls, "_context", None)


def _https_standin(ca: trustme.CA) -> SlackStandIn:
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server)
    return SlackStandIn(tls=server)


def _trust(ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))


def test_one_context_serves_every_post(fresh_context: None) -> None:
    first = tls.tls_context()
    assert tls.tls_context() is first
    assert first.verify_mode == ssl.CERT_REQUIRED and first.check_hostname


def test_posts_over_https_with_a_trusted_certificate(
    fresh_context: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ca = trustme.CA()
    _trust(ca, tmp_path, monkeypatch)
    with _https_standin(ca) as slack:
        assert slack.response_url().startswith("https://")
        post_to_response_url(slack.response_url("tls"), MESSAGE, frozenset({slack.host}), timeout=2)
        post_in_thread(make_web_client("xoxb-test", base_url=slack.api_url), "C1", "1.0", MESSAGE)
        assert len(slack.wait_for(2)) == 2


def test_an_untrusted_certificate_is_refused(
    fresh_context: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _trust(trustme.CA(), tmp_path, monkeypatch)  # trusts a different CA than the server's
    with _https_standin(trustme.CA()) as slack:
        with pytest.raises(PostFailed, match="CERTIFICATE_VERIFY_FAILED"):
            post_to_response_url(slack.response_url("tls"), MESSAGE, frozenset({slack.host}), timeout=2)
        assert slack.received == []
