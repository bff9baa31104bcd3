"""Every log record, at every level, from chalicelib's tree and from the root logger (where
slack_sdk, urllib3, botocore and chalice log), rendered the ways a handler would print them.

For the tests that prove no secret reaches a log: they search the rendered text, so a secret
hidden in a message, an argument, a structured field or a traceback is found alike.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterable, Iterator

import pytest

from chalicelib.logs import ROOT_LOGGER, JsonFormatter, get_logger


class AllRecords(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.NOTSET)
        self.records: list[logging.LogRecord] = []
        self.rendered: list[str] = []
        self._json = JsonFormatter()
        self._plain = logging.Formatter("%(levelname)s %(name)s %(message)s")
        self._guard = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        # The JSON form shows structured fields (as chalicelib prints them); the plain form adds
        # the full traceback, which the JSON form shortens to one line.
        text = self._json.format(record) + "\n" + self._plain.format(record)
        with self._guard:
            self.records.append(record)
            self.rendered.append(text)

    def at_or_above(self, level: int) -> list[str]:
        with self._guard:
            return [
                text
                for record, text in zip(self.records, self.rendered, strict=True)
                if record.levelno >= level
            ]

    def containing(self, secrets: Iterable[str]) -> list[tuple[str, str]]:
        """(secret, rendered record) for every record that contains one of `secrets`."""
        with self._guard:
            rendered = list(self.rendered)
        return [(secret, text) for secret in secrets if secret for text in rendered if secret in text]

    def events(self) -> list[str]:
        """The event names chalicelib logged, in order."""
        with self._guard:
            return [r.getMessage() for r in self.records if r.name.startswith(ROOT_LOGGER)]


@contextlib.contextmanager
def all_records() -> Iterator[AllRecords]:
    """Captures at DEBUG on both loggers for the duration, then restores their levels."""
    handler = AllRecords()
    package, root = get_logger(ROOT_LOGGER), logging.getLogger()
    saved = (package.level, root.level)
    package.addHandler(handler)
    root.addHandler(handler)
    package.setLevel(logging.DEBUG)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        package.removeHandler(handler)
        root.removeHandler(handler)
        package.setLevel(saved[0])
        root.setLevel(saved[1])


@pytest.fixture
def records() -> Iterator[AllRecords]:
    """Every log record during the test."""
    with all_records() as captured:
        yield captured
