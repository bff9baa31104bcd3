"""Runs `chalice local` on 127.0.0.1 as a subprocess: used by the demo, the integration tests and
the benchmarks, so all three exercise the same real HTTP server Slack would talk to."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

from chalicelib.slack.verify import sign_request

REPO = Path(__file__).resolve().parents[1]

# `chalice local` exactly as its CLI runs it, with one change: the listen backlog. socketserver's
# default of 5 pending connections resets clients as soon as Slack-like bursts arrive (26 of 2,000
# requests at concurrency 50 in bench/load.py); API Gateway has no such limit in production.
_CHALICE_LOCAL = (
    "import sys, chalice.local as local; local.ThreadedHTTPServer.request_queue_size = 256; "
    "from chalice.cli import main; sys.argv[0] = 'chalice'; sys.exit(main())"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop_process(process: subprocess.Popen[Any], timeout: float) -> None:
    """Terminates `process`, killing it if it outlives `timeout`, and reaps it either way."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class ChaliceLocal:
    """`chalice local` with the given environment; `post_signed` acts exactly as Slack does."""

    def __init__(
        self, env: dict[str, str], signing_secret: str, startup_timeout: float = 30.0, prelude: str = ""
    ) -> None:
        """`prelude`: Python statements run in the server process before `chalice local` starts
        (bench.load uses it to measure the ack path with a no-op dispatcher)."""
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.signing_secret = signing_secret
        self._env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
        self._timeout = startup_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._prelude = prelude
        self._log = open(os.devnull, "wb")  # noqa: SIM115 - lives as long as the server

    def start(self, log_path: Path | None = None) -> ChaliceLocal:
        """Starts the server once; `with ChaliceLocal(...).start(log) as server:` does not start a second."""
        if self._process is not None:
            return self
        if log_path is not None:
            self._log.close()
            self._log = log_path.open("wb")
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                f"{self._prelude}\n{_CHALICE_LOCAL}" if self._prelude else _CHALICE_LOCAL,
                "local",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--no-autoreload",
            ],
            cwd=REPO,
            env=self._env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + self._timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"chalice local exited with code {self._process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"chalice local did not listen on port {self.port} within {self._timeout:.0f} s")

    def stop(self) -> None:
        if self._process:
            stop_process(self._process, timeout=10)
        self._log.close()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def __enter__(self) -> ChaliceLocal:
        return self.start()  # a no-op when start() was already called

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()

    def post_signed(self, path: str, body: bytes, content_type: str, **headers: str) -> tuple[int, bytes]:
        """POSTs `body` signed with the current time; returns (status, response body)."""
        signed = sign_request(self.signing_secret, body, int(time.time()))
        request = urllib.request.Request(
            self.base_url + path,
            data=body,
            method="POST",
            headers={"Content-Type": content_type, **signed, **headers},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()
