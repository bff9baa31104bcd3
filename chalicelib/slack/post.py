"""Posting answers back to Slack: to a slash command's response_url, or into a thread.

The only module that loads slack_sdk's HTTP clients. Retries are slack_sdk's own handlers,
bounded (a Lambda worker has a deadline), and response_url targets are checked against the
allowlist first (`chalicelib.slack.urls`).
"""

from __future__ import annotations

import http.client
import logging
import re
from urllib.error import URLError
from urllib.parse import urlsplit

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.client import WebClient
from slack_sdk.webhook.client import WebhookClient

from chalicelib.slack.render import SlackMessage
from chalicelib.slack.tls import tls_context
from chalicelib.slack.urls import SLACK_RESPONSE_HOSTS, UnsafeResponseUrl, check_response_url

MAX_RETRIES = 2
"""Three attempts in all: enough for a blip, short enough for the worker's deadline."""
MAX_RETRY_AFTER_SECONDS = 10
"""A longer Retry-After would outlive the worker; giving up lets it tell the user instead."""


class _NoUrls(logging.Filter):
    """Scrubs URLs from slack_sdk's own messages, whatever their level, as a second guard."""

    _URL = re.compile(r"https?://\S+")

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = self._URL.sub("[url redacted]", record.getMessage()), ()
        return True


_WEBHOOK_LOG = logging.getLogger("chalicelib.slack.webhook")
"""WebhookClient's logger. Its default one (slack_sdk.webhook.client) writes the response_url, a
credential, at DEBUG with every request and at INFO with every retry; at WARNING it writes neither,
and the filter removes any URL from what it still writes (connection errors)."""
_WEBHOOK_LOG.setLevel(logging.WARNING)
_WEBHOOK_LOG.addFilter(_NoUrls())


class PostFailed(Exception):
    """The message did not reach Slack; `reason` names the host, never the full (secret) URL."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ForbiddenResponseUrl(PostFailed):
    """Refused before any request: the URL is not a Slack response_url we trust."""


class _BoundedRateLimitRetryHandler(RateLimitErrorRetryHandler):
    """slack_sdk's 429 handler, declining waits it cannot afford or cannot parse (HTTP dates)."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if not super()._can_retry(state=state, request=request, response=response, error=error):
            return False
        assert response is not None  # the parent only retries a 429 response
        values = next((v for k, v in response.headers.items() if k.lower() == "retry-after"), ["1"])
        return values[0].strip().isdigit() and int(values[0]) <= MAX_RETRY_AFTER_SECONDS


def retry_handlers() -> list[RetryHandler]:
    """Rate limits (honouring Retry-After), 500/503, and dropped or timed-out connections."""
    interval = BackoffRetryIntervalCalculator(backoff_factor=0.25)
    connection_errors: list[type[Exception]] = [
        URLError,
        ConnectionError,
        http.client.HTTPException,
        TimeoutError,
    ]
    return [
        _BoundedRateLimitRetryHandler(max_retry_count=MAX_RETRIES),
        ServerErrorRetryHandler(max_retry_count=MAX_RETRIES, interval_calculator=interval),
        ConnectionErrorRetryHandler(
            max_retry_count=MAX_RETRIES, interval_calculator=interval, error_types=connection_errors
        ),
    ]


def post_to_response_url(
    url: str,
    message: SlackMessage,
    allowed_hosts: frozenset[str] = SLACK_RESPONSE_HOSTS,
    timeout: float = 5.0,
) -> None:
    """Delivers `message` to a slash command's response_url, retrying transient failures.

    `timeout` is per attempt. A timed-out attempt is retried, so Slack may rarely show the
    message twice when it accepted the slow attempt; a lost answer is the worse failure.
    """
    try:
        check_response_url(url, allowed_hosts)
    except UnsafeResponseUrl as error:
        raise ForbiddenResponseUrl(error.reason) from None
    host = urlsplit(url).netloc
    client = WebhookClient(
        url,
        timeout=timeout,
        ssl=tls_context(),
        retry_handlers=retry_handlers(),
        logger=_WEBHOOK_LOG,  # type: ignore[arg-type]
    )
    try:
        response = client.send_dict(message.payload())
    except (OSError, http.client.HTTPException) as error:
        raise PostFailed(f"could not reach {host}: {type(error).__name__}: {error}") from error
    if response.status_code != 200:
        raise PostFailed(f"{host} answered HTTP {response.status_code}: {response.body[:200]}")


def make_web_client(token: str, base_url: str | None = None, timeout: float = 10.0) -> WebClient:
    """A Web API client with the same bounded retries; `base_url` points tests at a stand-in."""
    options = {"base_url": base_url} if base_url is not None else {}
    return WebClient(
        token=token,
        timeout=timeout,
        ssl=tls_context(),
        retry_handlers=retry_handlers(),
        **options,  # type: ignore[arg-type]
    )


def post_in_thread(client: WebClient, channel: str, thread_ts: str, message: SlackMessage) -> None:
    """Answers an @-mention or DM in its thread, so the channel itself stays quiet."""
    try:
        client.chat_postMessage(
            channel=channel, thread_ts=thread_ts, text=message.text, blocks=message.blocks, unfurl_links=False
        )
    except SlackApiError as error:
        raise PostFailed(
            f"chat.postMessage failed: {error.response.get('error', 'unknown error')}"
        ) from error
    except (OSError, http.client.HTTPException) as error:
        raise PostFailed(f"chat.postMessage failed: {type(error).__name__}: {error}") from error
