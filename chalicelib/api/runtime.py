"""The API function's per-container state: settings, the dispatcher and the events bot's memory.

Built at the first request (or in Lambda's init phase, `chalicelib.api.startup`) from the settings,
so tests can set the environment first; `reset` lets them change it, and inject a recording
dispatcher or event memory.
"""

from __future__ import annotations

import threading
from typing import Any

from chalicelib.api.dispatch import Dispatcher, LambdaDispatcher, LocalDispatcher
from chalicelib.api.events import EventFilter, InMemorySeenEvents, SeenEvents
from chalicelib.config import Settings, load_settings, reset_settings


def _run_locally(payload: dict[str, Any]) -> Any:
    from chalicelib.worker.handler import run_job  # the worker's code, on the job's thread only

    return run_job(payload)


class Runtime:
    def __init__(self, settings: Settings, dispatcher: Dispatcher, seen: SeenEvents) -> None:
        self.settings = settings
        self.dispatcher = dispatcher
        self.events = EventFilter(seen, settings.trigger_word)

    @classmethod
    def from_settings(
        cls, settings: Settings, dispatcher: Dispatcher | None = None, seen: SeenEvents | None = None
    ) -> Runtime:
        """The configured dispatcher and event memory, unless given (tests inject their own)."""
        if dispatcher is None and settings.dispatch_mode == "local":
            dispatcher = LocalDispatcher(_run_locally)
        elif dispatcher is None:
            assert settings.worker_function_name is not None
            dispatcher = LambdaDispatcher(settings.worker_function_name, session=settings.aws)
        return cls(settings, dispatcher, seen or InMemorySeenEvents())


_runtime: Runtime | None = None
_overrides: dict[str, Any] = {}
_lock = threading.Lock()


def get_runtime() -> Runtime:
    """Raises ConfigError when the environment is invalid (not cached: a fixed env is picked up)."""
    global _runtime
    with _lock:
        if _runtime is None:
            _runtime = Runtime.from_settings(load_settings(), **_overrides)
        return _runtime


def reset(dispatcher: Dispatcher | None = None, seen: SeenEvents | None = None) -> None:
    """Forget settings and state; tests call it after changing the environment, optionally
    injecting a dispatcher (e.g. a recording one) or a SeenEvents implementation."""
    global _runtime
    reset_settings()
    with _lock:
        _runtime = None
        _overrides.clear()
        if dispatcher is not None:
            _overrides["dispatcher"] = dispatcher
        if seen is not None:
            _overrides["seen"] = seen
