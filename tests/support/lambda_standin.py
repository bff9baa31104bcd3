"""A stand-in for AWS Lambda's Invoke API on 127.0.0.1, so the API function's real handover
(`LambdaDispatcher`: boto3 `lambda.invoke(InvocationType="Event")`) runs over real HTTP.

boto3 finds it through the standard `AWS_ENDPOINT_URL_LAMBDA` variable (any dummy credentials
will do; the signature is not checked). What it implements, as Lambda documents it:

- `POST /2015-03-31/functions/{name}/invocations` with `X-Amz-Invocation-Type: Event`: 202 at once,
  the function runs later on a pool; a raised error is retried twice (Lambda's default for async
  invocations; the delays here are short), then the payload is recorded as dead-lettered.
  `RequestResponse` (the default) runs the function and answers 200 with its JSON result
  (`X-Amz-Function-Error: Unhandled` when it raised); `DryRun` answers 204.
- An unknown function: 404 `ResourceNotFoundException`. A payload over 256 KB (async) or 6 MB
  (sync): 413 `RequestTooLargeException`. A body that is not JSON: 400
  `InvalidRequestContentException`.
- `GET /_standin/stats`: counts of accepted, succeeded, retried and dead-lettered invocations.

Functions are given as callables (`handler(event, context)`, run on threads in this process: tests)
or as `"module:attribute"` strings, which can run in worker processes (`processes=N`): the load
benchmark uses that so the worker's CPU and GIL are not the API process's, as on Lambda. Run as a
script, it serves until stopped:

    python -m tests.support.lambda_standin --function whoknows-local-worker=app:worker \
        --processes 2 --nice 10
    (prints "listening on http://127.0.0.1:PORT" once ready)
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import importlib
import json
import os
import re
import signal
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace, TracebackType
from typing import Any

import pytest

from tests.support.aws import apply_fake_aws_env

Handler = Callable[[Any, Any], Any]
ASYNC_PAYLOAD_LIMIT = 256 * 1024
SYNC_PAYLOAD_LIMIT = 6 * 1024 * 1024
ASYNC_RETRIES = 2
TEST_WORKER = "whoknows-test-worker"
_INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/?]+)/invocations(?:\?.*)?$")


def _resolve(handler: Handler | str) -> Handler:
    if callable(handler):
        return handler
    module, _, attribute = handler.partition(":")
    return getattr(importlib.import_module(module), attribute)


def _run(handler: Handler | str, function_name: str, request_id: str, event: Any) -> Any:
    """Runs one invocation (in a pool thread or a pool process)."""
    context = SimpleNamespace(
        aws_request_id=request_id,
        function_name=function_name,
        get_remaining_time_in_millis=lambda: 60_000,
    )
    return _resolve(handler)(event, context)


def _lower_priority(nice: int) -> None:
    if nice:
        os.nice(nice)


@dataclass(frozen=True)
class Finished:
    function_name: str
    request_id: str
    attempts: int
    error: str | None
    """The last attempt's exception (type: message), or None when it succeeded."""


class LambdaStandIn:
    """Lambda's Invoke API for `functions` (name -> handler). `url` is what AWS_ENDPOINT_URL_LAMBDA
    takes. `processes=0` runs handlers on `threads` threads here; `processes=N` on N processes
    started with `nice` added to their priority (handlers must then be "module:attribute")."""

    def __init__(
        self,
        functions: Mapping[str, Handler | str],
        *,
        threads: int = 4,
        processes: int = 0,
        nice: int = 0,
        retry_delays: Sequence[float] = (0.05, 0.1),
        port: int = 0,
    ) -> None:
        if len(retry_delays) != ASYNC_RETRIES:
            raise ValueError(f"give {ASYNC_RETRIES} retry delays")
        if processes and any(callable(handler) for handler in functions.values()):
            raise ValueError("process pools need handlers given as 'module:attribute'")
        self.functions = dict(functions)
        self.retry_delays = tuple(retry_delays)
        self._pool: concurrent.futures.Executor
        if processes:
            import multiprocessing

            self._pool = concurrent.futures.ProcessPoolExecutor(
                processes,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_lower_priority,
                initargs=(nice,),
            )
        else:
            self._pool = concurrent.futures.ThreadPoolExecutor(threads, thread_name_prefix="lambda")
        self._lock = threading.Condition()
        self._counts: Counter[str] = Counter()
        self._pending = 0
        self._timers: set[threading.Timer] = set()
        self.finished: list[Finished] = []
        self._server = _Server(("127.0.0.1", port), _handler_for(self))
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    # --- the Invoke API -------------------------------------------------------------------

    def invoke_async(self, function_name: str, event: Any) -> str:
        request_id = str(uuid.uuid4())
        with self._lock:
            self._counts["accepted"] += 1
            self._pending += 1
        self._submit(function_name, request_id, event, attempt=1)
        return request_id

    def invoke_sync(self, function_name: str, event: Any) -> tuple[Any, str | None]:
        """Returns (result, None) or (Lambda's error payload, the error type)."""
        future = self._pool.submit(
            _run, self.functions[function_name], function_name, str(uuid.uuid4()), event
        )
        try:
            return future.result(), None
        except Exception as error:
            return {"errorMessage": str(error), "errorType": type(error).__name__}, "Unhandled"

    def _submit(self, function_name: str, request_id: str, event: Any, attempt: int) -> None:
        try:
            future = self._pool.submit(_run, self.functions[function_name], function_name, request_id, event)
        except RuntimeError:  # the pool is shutting down: the stand-in is stopping
            self._done(Finished(function_name, request_id, attempt, "stand-in stopped"))
            return
        future.add_done_callback(lambda done: self._after(done, function_name, request_id, event, attempt))

    def _after(
        self,
        future: concurrent.futures.Future[Any],
        function_name: str,
        request_id: str,
        event: Any,
        attempt: int,
    ) -> None:
        error = future.exception()
        if error is None:
            self._done(Finished(function_name, request_id, attempt, None))
            return
        if attempt > ASYNC_RETRIES:
            self._done(Finished(function_name, request_id, attempt, f"{type(error).__name__}: {error}"))
            return
        with self._lock:
            self._counts["retried"] += 1
        timer = threading.Timer(
            self.retry_delays[attempt - 1], self._retry, (function_name, request_id, event, attempt + 1)
        )
        timer.daemon = True
        with self._lock:
            self._timers.add(timer)
        timer.start()

    def _retry(self, function_name: str, request_id: str, event: Any, attempt: int) -> None:
        with self._lock:
            self._timers = {timer for timer in self._timers if timer.is_alive()}
        self._submit(function_name, request_id, event, attempt)

    def _done(self, finished: Finished) -> None:
        with self._lock:
            self.finished.append(finished)
            self._counts["succeeded" if finished.error is None else "dead_lettered"] += 1
            self._pending -= 1
            self._lock.notify_all()

    # --- observing --------------------------------------------------------------------------

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {
                name: self._counts[name] for name in ("accepted", "succeeded", "retried", "dead_lettered")
            } | {"pending": self._pending}

    def wait_idle(self, timeout: float = 10.0) -> list[Finished]:
        """Blocks until every accepted invocation has succeeded or been dead-lettered."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._pending:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"{self._pending} invocations still pending after {timeout}s")
                self._lock.wait(remaining)
            return list(self.finished)

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> LambdaStandIn:
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            timers = list(self._timers)
        for timer in timers:
            timer.cancel()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> LambdaStandIn:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # listen backlog; socketserver's 5 drops connections in bursts (1 s SYN retry)


def _handler_for(standin: LambdaStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as boto3's connection pool expects

        def log_message(self, format: str, *args: Any) -> None:
            return None

        def _reply(self, status: int, body: bytes = b"", headers: Mapping[str, str] | None = None) -> None:
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
            self.end_headers()
            self.wfile.write(body)

        def _error(self, status: int, error_type: str, message: str) -> None:
            body = json.dumps({"Type": "User", "message": message}).encode()
            self._reply(status, body, {"x-amzn-ErrorType": error_type})

        def do_GET(self) -> None:
            if self.path == "/_standin/stats":
                self._reply(200, json.dumps(standin.stats()).encode())
            else:
                self._error(404, "UnknownOperationException", "unknown operation")

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            match = _INVOKE_PATH.match(self.path)
            if match is None:
                self._error(404, "UnknownOperationException", "unknown operation")
                return
            name = match["name"]
            if name not in standin.functions:
                self._error(404, "ResourceNotFoundException", f"Function not found: {name}")
                return
            kind = self.headers.get("X-Amz-Invocation-Type", "RequestResponse")
            limit = ASYNC_PAYLOAD_LIMIT if kind == "Event" else SYNC_PAYLOAD_LIMIT
            if len(body) > limit:
                self._error(413, "RequestTooLargeException", f"payload of {len(body)} bytes is over {limit}")
                return
            try:
                event = json.loads(body or b"{}")
            except ValueError:
                self._error(400, "InvalidRequestContentException", "could not parse request body as JSON")
                return
            if kind == "Event":
                standin.invoke_async(name, event)
                self._reply(202)
            elif kind == "DryRun":
                self._reply(204)
            elif kind == "RequestResponse":
                result, error = standin.invoke_sync(name, event)
                self._reply(
                    200, json.dumps(result).encode(), {"X-Amz-Function-Error": error} if error else None
                )
            else:
                self._error(400, "InvalidParameterValueException", f"unknown invocation type {kind!r}")

    return Handler


class RecordingLambdaStandIn(LambdaStandIn):
    """One function, `name`, that records each invocation's (event, context) in `calls` and
    answers as the worker does: for tests of the handover itself."""

    def __init__(self, name: str = TEST_WORKER) -> None:
        self.calls: list[tuple[Any, Any]] = []
        super().__init__({name: self._record})

    def _record(self, event: Any, context: Any) -> dict[str, str]:
        self.calls.append((event, context))
        return {"outcome": "answered"}


@pytest.fixture
def recording_lambda(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[RecordingLambdaStandIn]:
    """A RecordingLambdaStandIn for TEST_WORKER, boto3 pointed at it with dummy credentials."""
    standin = RecordingLambdaStandIn()
    with standin:
        apply_fake_aws_env(monkeypatch, tmp_path / "absent")
        monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", standin.url)
        yield standin


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.lambda_standin", description=__doc__)
    parser.add_argument("--function", action="append", required=True, help="NAME=module:attribute")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--processes", type=int, default=0, help="0: run handlers on threads here")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--nice", type=int, default=0, help="added to the worker processes' niceness")
    args = parser.parse_args(argv)
    functions = dict(spec.split("=", 1) for spec in args.function)
    standin = LambdaStandIn(
        functions, threads=args.threads, processes=args.processes, nice=args.nice, port=args.port
    )
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    with standin:
        print(f"listening on {standin.url}", flush=True)
        while not stopping.wait(0.2):
            pass
        print(f"stats {json.dumps(standin.stats())}", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        raise SystemExit(main())
