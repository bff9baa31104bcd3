"""A new container's first model load, started as early as the container allows.

Most of a cold worker's time is CPU under one GIL (imports, botocore's set-up), which threads
cannot share out. What they can overlap is the time nothing holds the GIL: the model's reads from
S3, onnxruntime building its session, OpenSSL reading its CA bundle. `ColdLoad` runs the model's
load and the TLS context on threads, so whatever the caller does next fills those waits.

On Lambda the worker starts it at the very top of app.py (`begin`), in this order: this thread
makes the S3 client; the model's reads start on their thread; this thread imports onnxruntime and
numpy while they wait on the network; then app.py's own imports (Chalice, slack_sdk) run while
onnxruntime builds the session. The load thread imports nothing of its own by then, so the two
threads never import side by side. Elsewhere (local mode, tests) the worker starts it when it is
built (`cold_load_for`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future

from chalicelib import logs
from chalicelib.config import Settings, load_settings
from chalicelib.model import LoadedModel, ModelHolder
from chalicelib.model_store import ModelStore
from chalicelib.slack.tls import tls_context

_log = logs.get_logger(__name__)

COLD_LOAD_THREADS = ("whoknows-model-load", "whoknows-tls")
"""The names of a cold load's threads (tests wait for them so that none outlives its test)."""


class ColdLoad:
    """The model's first load and the TLS context, each on a thread from the moment it is made.

    The first job's model gets the outcome, failure included, exactly once; later jobs ask the
    holder themselves.
    """

    def __init__(self, holder: ModelHolder) -> None:
        self._timings = logs.Timings()
        self._model = in_background(lambda: holder.get(self._timings), COLD_LOAD_THREADS[0])
        in_background(tls_context, COLD_LOAD_THREADS[1])

    def result(self, timings: logs.Timings) -> LoadedModel:
        """Waits for the load; its phase timings join the job's, whether it worked or not."""
        try:
            return self._model.result()
        finally:
            timings.update(self._timings)


_lock = threading.Lock()
_begun: tuple[Settings, ModelHolder, ColdLoad] | None = None


def begin() -> None:
    """Lambda's init phase, worker function only: called by app.py before its other imports.

    Nothing here is required: a failure is logged and left to the warm-up and the first job,
    which meet it again and tell the user as usual.
    """
    global _begun
    try:
        settings = load_settings()
        holder = _holder(settings)  # the S3 client: botocore's import and set-up, on this thread
        load = ColdLoad(holder)
        with _lock:
            _begun = (settings, holder, load)
        import chalicelib.predictor  # noqa: F401  (onnxruntime and numpy, while the reads wait)
    except Exception as error:
        logs.warning(_log, "cold_load_not_begun", error=logs.error_text(error))


def cold_load_for(settings: Settings) -> tuple[ModelHolder, ColdLoad]:
    """The holder and load `begin()` started with these settings (once), else new ones."""
    global _begun
    with _lock:
        begun, _begun = _begun, None
    if begun is not None and begun[0] is settings:
        return begun[1], begun[2]
    holder = _holder(settings)
    return holder, ColdLoad(holder)


def forget_begun_load() -> None:
    """Drops a begun load nobody took (tests that change the environment between workers)."""
    global _begun
    with _lock:
        _begun = None


def _holder(settings: Settings) -> ModelHolder:
    store = ModelStore(settings.model_uri, settings.model_cache_dir, session=settings.aws)
    return ModelHolder(store, settings.model_refresh_seconds)


def in_background[T](work: Callable[[], T], name: str) -> Future[T]:
    """Runs `work` on a thread; its result or exception waits in the future.

    Not a daemon: the interpreter waits for it before exiting. A daemon thread still inside
    OpenSSL or onnxruntime while the process shut down crashed it (SIGSEGV, seen in a test whose
    worker exited right after a failed warm-up)."""
    future: Future[T] = Future()

    def run() -> None:
        try:
            future.set_result(work())
        except BaseException as error:  # handed to whoever asks for the result
            future.set_exception(error)

    threading.Thread(target=run, name=name, daemon=False).start()
    return future
