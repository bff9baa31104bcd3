"""Runs `chalice local` on 127.0.0.1 as a subprocess: used by the demo, the integration tests and
the benchmarks, so all three exercise the same real HTTP server Slack would talk to.

Run as `make local` (`python -m scripts.local_server`), it serves the bot for a real Slack app:
the sample model (trained on first use) unless MODEL_URI says otherwise, the worker on local
threads, and a printout of the request URLs and settings to set, and of what is missing.
"""

from __future__ import annotations

import argparse
import os
import signal
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
        self,
        env: dict[str, str],
        signing_secret: str,
        startup_timeout: float = 30.0,
        prelude: str = "",
        port: int | None = None,
    ) -> None:
        """`prelude`: Python statements run in the server process before `chalice local` starts
        (bench.load uses it to measure the ack path with a no-op dispatcher). `port`: a free one
        by default."""
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.signing_secret = signing_secret
        self._env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
        self._timeout = startup_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._prelude = prelude
        self._log = open(os.devnull, "wb")  # noqa: SIM115 - lives as long as the server

    def start(self, log_path: Path | None = None, show_output: bool = False) -> ChaliceLocal:
        """Starts the server once; `with ChaliceLocal(...).start(log) as server:` does not start a second.

        `show_output` lets the server's log through to this process's stdout (a person watching)."""
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
            stdout=None if show_output else self._log,
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

    def wait(self) -> int:
        """Blocks until the server exits; its exit code."""
        assert self._process is not None, "start() first"
        return self._process.wait()

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


def main(argv: list[str] | None = None) -> int:
    """`make local`: serve the bot on 127.0.0.1 for a real Slack app reached through a tunnel."""
    from export.sample import SAMPLE_TEAMS
    from scripts.local_setup import setup_text, write_manifest
    from scripts.sample_model import MODEL_DIR, ensure_model

    parser = argparse.ArgumentParser(prog="make local", description=main.__doc__)
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("PORT") or 8000), help="default 8000 (PORT)"
    )
    parser.add_argument(
        "--public-url", default=os.environ.get("PUBLIC_URL"), help="the tunnel's https URL (PUBLIC_URL)"
    )
    parser.add_argument("--model-dir", type=Path, default=MODEL_DIR, help="where the sample model is kept")
    parser.add_argument(
        "--manifest",
        type=Path,
        default=REPO / "out" / "slack-app-manifest.local.json",
        help="with --public-url: where to write a Slack app manifest holding its request URLs",
    )
    args = parser.parse_args(argv)

    env = {name: value for name, value in os.environ.items()}
    if env.get("MODEL_URI"):
        print(f"model: MODEL_URI={env['MODEL_URI']} from the environment", flush=True)
    else:
        print("model: checking the sample model (trained on first use, about 20 s) …", flush=True)
        print(f"model: {ensure_model(args.model_dir)}", flush=True)
        env["MODEL_URI"] = str(args.model_dir)
        env.setdefault("TEAM_DIRECTORY", str(SAMPLE_TEAMS))
    env["DISPATCH_MODE"] = "local"  # the worker on local threads: no Lambda to hand jobs to
    env.setdefault("MODEL_CACHE_DIR", str(REPO / "out" / "model-cache"))
    manifest = write_manifest(args.public_url, args.manifest) if args.public_url else None
    server = ChaliceLocal(env, env.get("SLACK_SIGNING_SECRET", ""), port=args.port)
    try:
        server.start(show_output=True)
    except RuntimeError as error:
        print(f"error: {error} (is port {args.port} in use? try --port or PORT=…)", file=sys.stderr)
        return 1
    print(setup_text(env, server.base_url, args.port, args.public_url, manifest), flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # a terminated runner stops its server too
    try:
        return server.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
