"""JSON-lines logging: one object per line, with the request id and whatever fields the caller adds.

    log = get_logger(__name__)
    with request_context(request_id):
        info(log, "job_done", job_id=job.job_id, predict_ms=3.1)

CloudWatch Logs Insights reads the fields directly. Fields whose names look like credentials
(secret, token, signature, response_url, authorization) are replaced by "[redacted]" as a last line
of defence; callers still never pass them. Standard library only.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import time
import uuid
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

ROOT_LOGGER = "chalicelib"  # not "whoknows": Chalice owns the logger named after the app
_SENSITIVE = ("secret", "token", "signature", "response_url", "authorization", "password")
_request_id: ContextVar[str | None] = ContextVar("whoknows_request_id", default=None)


def new_request_id() -> str:
    """Locally there is no Lambda request id; a random one still ties a request's lines together."""
    return f"local-{uuid.uuid4().hex[:16]}"


@contextlib.contextmanager
def request_context(request_id: str | None) -> Iterator[str]:
    """Every line logged inside carries `request_id` (a new local one when None)."""
    rid = request_id or new_request_id()
    token = _request_id.set(rid)
    try:
        yield rid
    finally:
        _request_id.reset(token)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "event": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or _request_id.get(),
        }
        for key, value in (getattr(record, "fields", None) or {}).items():
            line[key] = "[redacted]" if _is_sensitive(key) else value
        if record.exc_info and record.exc_info[0] is not None:
            line["exception"] = f"{record.exc_info[0].__name__}: {record.exc_info[1]}"
        return json.dumps(line, default=str, ensure_ascii=False)


def _is_sensitive(key: str) -> bool:
    lowered = key.lower()
    return any(word in lowered for word in _SENSITIVE)


class _StderrHandler(logging.Handler):
    """Writes to whatever sys.stderr is now (Lambda and pytest's capture both swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:
            self.handleError(record)


def _configure() -> logging.Logger:
    root = logging.getLogger(ROOT_LOGGER)
    if not any(isinstance(handler, _StderrHandler) for handler in root.handlers):
        handler = _StderrHandler()
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        root.propagate = False  # Lambda's root handler would print every line a second time
    return root


def get_logger(name: str) -> logging.Logger:
    """A logger under the `chalicelib` tree, which prints JSON lines to stderr."""
    _configure()
    inside = name == ROOT_LOGGER or name.startswith(f"{ROOT_LOGGER}.")
    return logging.getLogger(name if inside else f"{ROOT_LOGGER}.{name}")


def error_text(error: BaseException) -> str:
    """How a log line or a wrapping error names a caught exception: its type, then its message."""
    return f"{type(error).__name__}: {error}"


def log(logger: logging.Logger, level: int, event: str, exc_info: bool = False, **fields: Any) -> None:
    logger.log(level, event, extra={"fields": fields, "request_id": _request_id.get()}, exc_info=exc_info)


def info(logger: logging.Logger, event: str, **fields: Any) -> None:
    log(logger, logging.INFO, event, **fields)


def warning(logger: logging.Logger, event: str, **fields: Any) -> None:
    log(logger, logging.WARNING, event, **fields)


def error(logger: logging.Logger, event: str, exc_info: bool = False, **fields: Any) -> None:
    log(logger, logging.ERROR, event, exc_info=exc_info, **fields)


class Timings(dict[str, float]):
    """Phase durations in milliseconds, e.g. {"verify_ms": 0.4, "dispatch_ms": 12.0}."""

    @contextlib.contextmanager
    def measure(self, phase: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self[f"{phase}_ms"] = round((time.perf_counter() - start) * 1000, 3)
