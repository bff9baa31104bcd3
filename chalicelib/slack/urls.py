"""Which response_urls the bot will post to: Slack's own hosts, plus configured local stand-ins.

The URL arrives in the request body, so without this check a forged or replayed request could make
the worker POST anywhere. Standard library only: the API function checks a slash command's URL
before it acknowledges (so the user hears at once that no answer can come), and the worker checks
it again before posting (`chalicelib.slack.post`).
"""

from __future__ import annotations

from urllib.parse import urlsplit

SLACK_RESPONSE_HOSTS = frozenset({"hooks.slack.com"})


class UnsafeResponseUrl(ValueError):
    """The URL is not a Slack response_url we trust; `reason` names the host, never the full URL
    (a response_url is a credential)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def check_response_url(url: str, allowed_hosts: frozenset[str] = SLACK_RESPONSE_HOSTS) -> None:
    """Raises UnsafeResponseUrl unless `url` targets an allowed host.

    A bare host ("hooks.slack.com") allows https on the default port only. A "host:port" entry
    (a local stand-in such as "127.0.0.1:8123") allows that exact host and port, over http too.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeResponseUrl("response_url is not a valid URL") from None
    host = parts.hostname or ""
    if parts.username is not None or parts.password is not None:
        raise UnsafeResponseUrl(f"response_url for {host!r} carries credentials")
    if port is not None and f"{host}:{port}" in allowed_hosts and parts.scheme in ("http", "https"):
        return
    if host in allowed_hosts and parts.scheme == "https" and port in (None, 443):
        return
    raise UnsafeResponseUrl(f"response_url host {host!r} ({parts.scheme}) is not allowed")
