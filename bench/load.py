"""Load: 2,000 signed /whoknows requests at concurrency 50 against `chalice local` on 127.0.0.1.

Reports errors, duplicate and missing answers, and ack latency percentiles (target: 0 errors,
p99 <= 100 ms). Traffic goes to loopback only; the run is bounded in count and time.

    .venv/bin/python -m bench.load [--requests 2000] [--concurrency 50] [--runs 3]
        [--dispatch lambda|local] [--worker-processes 1] [--worker-nice 10]

Set-up (`--dispatch lambda`, the default): `chalice local` runs the production handover,
`LambdaDispatcher` (boto3 `lambda.invoke(InvocationType="Event")`), pointed by the standard
`AWS_ENDPOINT_URL_LAMBDA` at the Lambda stand-in (tests/support/lambda_standin.py), a separate
process that answers 202 and runs `app.worker` in its own worker process(es), niced so that on
this 2-core machine the worker uses the CPU the API process leaves idle, as the worker's own
Lambda containers would. `--dispatch local` measures `DISPATCH_MODE=local` instead (the worker on
a thread inside `chalice local`, as `make demo` runs it).

The client is a separate process (bench/load.py `client`), one asyncio loop holding
`--concurrency` requests in flight, each on a new connection (as Slack does), requests built and
signed before the clock starts; it measures connect -> full response. The Slack stand-in that
receives the answers lives in this process. 20 sequential warm-up requests (boto3 import and
client, model load in the worker) precede each measured batch and are not counted.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

from bench.common import PYTHON, REPO, fmt, percentiles, print_table, verdict, write_results
from scripts.local_server import stop_process

TARGET_P99_MS = 100.0
WORKER_FUNCTION = "whoknows-local-worker"
WARM_UP = 20
_NO_OP_DISPATCHER = (
    "from bench._cold_probe import NullDispatcher\n"
    "from chalicelib.api import runtime as api_runtime\n"
    "api_runtime.reset(dispatcher=NullDispatcher())"
)


# --- the client (a child process) -----------------------------------------------------------


async def _client(host: str, port: int, concurrency: int, raw: list[bytes]) -> list[tuple[Any, float]]:
    results: list[tuple[Any, float]] = [("not sent", 0.0)] * len(raw)
    indexes = iter(range(len(raw)))

    async def one_at_a_time() -> None:
        for i in indexes:
            started = time.perf_counter()
            status: Any
            try:
                reader, writer = await asyncio.open_connection(host, port)
                writer.write(raw[i])
                response = await asyncio.wait_for(reader.read(), 10)
                writer.close()
                status = int(response.split(b" ", 2)[1]) if response else "empty response"
            except (OSError, TimeoutError, ValueError, IndexError) as error:
                status = type(error).__name__
            results[i] = (status, (time.perf_counter() - started) * 1000)

    await asyncio.gather(*(one_at_a_time() for _ in range(concurrency)))
    return results


def client_main() -> None:
    """stdin: {"host", "port", "concurrency", "requests": [[path, headers, base64 body]]}; stdout: JSON."""
    spec = json.load(sys.stdin)
    raw = []
    for path, headers, body64 in spec["requests"]:
        body = base64.b64decode(body64)
        lines = [f"POST {path} HTTP/1.1", f"Host: {spec['host']}:{spec['port']}", "Connection: close"]
        lines += [f"Content-Length: {len(body)}", *(f"{name}: {value}" for name, value in headers.items())]
        raw.append(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    cpu, wall = time.process_time(), time.perf_counter()
    results = asyncio.run(_client(spec["host"], spec["port"], spec["concurrency"], raw))
    print(
        json.dumps(
            {"results": results, "wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu}
        )
    )


# --- helpers ---------------------------------------------------------------------------------


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a live process, all its threads (not its children)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _LambdaProcess:
    """tests/support/lambda_standin.py as a subprocess serving `app:worker`."""

    def __init__(self, env: dict[str, str], processes: int, nice: int, log: Path) -> None:
        self._log = log.open("wb")
        self.process = subprocess.Popen(
            [
                PYTHON,
                "-m",
                "tests.support.lambda_standin",
                "--function",
                f"{WORKER_FUNCTION}=app:worker",
                "--processes",
                str(processes),
                "--nice",
                str(nice),
            ],
            cwd=REPO,
            env={**os.environ, **env, "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.PIPE,
            stderr=self._log,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().decode()
        if not line.startswith("listening on "):
            self.stop()
            raise RuntimeError(f"the Lambda stand-in did not start: {line!r}; see {log}")
        self.url = line.split()[-1]

    def stats(self) -> dict[str, int]:
        with urllib.request.urlopen(self.url + "/_standin/stats", timeout=5) as response:
            return json.loads(response.read())

    def stop(self) -> None:
        stop_process(self.process, timeout=30)
        self._log.close()


def _load_average() -> float:
    return os.getloadavg()[0]


# --- the benchmark ---------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, Any]:
    from bench.serving import SECRET, sample_questions, serving_env, signed_headers, slash_body
    from export.sample import SAMPLE_TICKETS
    from export.train import train
    from scripts.local_server import ChaliceLocal
    from tests.support.aws import fake_aws_env
    from tests.support.slack_standin import SlackStandIn

    questions = sample_questions()
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as work_dir, SlackStandIn() as slack:
        work = Path(work_dir)
        model = work / "model"
        train(SAMPLE_TICKETS, model, min_tickets_per_team=5, progress=False)
        env = serving_env(str(model), work / "cache", slack.host)
        lambda_process = None
        if args.dispatch == "lambda":
            lambda_process = _LambdaProcess(
                {**env, **fake_aws_env(work / "no-aws-config")},
                args.worker_processes,
                args.worker_nice,
                work / "lambda.log",
            )
            env = {
                **env,
                **fake_aws_env(work / "no-aws-config"),
                "AWS_ENDPOINT_URL_LAMBDA": lambda_process.url,
                "DISPATCH_MODE": "lambda",
                "WORKER_FUNCTION_NAME": WORKER_FUNCTION,
            }
        try:
            prelude = _NO_OP_DISPATCHER if args.dispatch == "none" else ""
            with ChaliceLocal(env, SECRET, prelude=prelude).start(work / "chalice.log") as server:
                assert server.pid is not None
                for run_index in range(args.runs):
                    posted = len(slack.accepted)
                    for i in range(args.warm_up):
                        body = slash_body(
                            questions[i], f"warm.{run_index}.{i}", slack.response_url(f"w{run_index}.{i}")
                        )
                        status, _ = server.post_signed(
                            "/slack/commands", body, "application/x-www-form-urlencoded"
                        )
                        assert status == 200, status
                    if args.dispatch != "none":
                        slack.wait_for(posted + args.warm_up, timeout=60)
                    posted = len(slack.accepted)
                    requests = []
                    for i in range(args.requests):
                        body = slash_body(
                            questions[i % len(questions)],
                            f"load.{run_index}.{i}",
                            slack.response_url(f"r{run_index}.{i}"),
                        )
                        requests.append(
                            ["/slack/commands", signed_headers(body), base64.b64encode(body).decode()]
                        )
                    spec = {
                        "host": "127.0.0.1",
                        "port": server.port,
                        "concurrency": args.concurrency,
                        "requests": requests,
                    }
                    load_before, server_cpu = _load_average(), _cpu_seconds(server.pid)
                    done = subprocess.run(
                        [PYTHON, "-m", "bench.load", "client"],
                        cwd=REPO,
                        input=json.dumps(spec),
                        capture_output=True,
                        text=True,
                        timeout=600,
                        check=True,
                    )
                    server_cpu = _cpu_seconds(server.pid) - server_cpu
                    client = json.loads(done.stdout)
                    finished = time.perf_counter()
                    deadline = time.monotonic() + 180
                    expected = 0 if args.dispatch == "none" else args.requests
                    while len(slack.accepted) < posted + expected and time.monotonic() < deadline:
                        time.sleep(0.05)
                    drain = time.perf_counter() - finished
                    answered = Counter(post.path for post in slack.accepted[posted:])
                    prefix = f"/response/r{run_index}."
                    runs.append(
                        _summarise(
                            args,
                            client,
                            answered,
                            prefix,
                            server_cpu=server_cpu,
                            drain_s=drain,
                            load_average=(load_before, _load_average()),
                            lambda_stats=lambda_process.stats() if lambda_process else None,
                        )
                    )
        finally:
            if lambda_process is not None:
                lambda_process.stop()
    return {"runs": runs}


def _summarise(
    args: argparse.Namespace,
    client: dict[str, Any],
    answered: Counter[str],
    prefix: str,
    *,
    server_cpu: float,
    drain_s: float,
    load_average: tuple[float, float],
    lambda_stats: dict[str, int] | None,
) -> dict[str, Any]:
    results = client["results"]
    statuses = Counter(str(status) for status, _ in results)
    ok = [ms for status, ms in results if status == 200]
    answers = {path: n for path, n in answered.items() if path.startswith(prefix)}
    return {
        "statuses": dict(statuses),
        "errors": args.requests - statuses.get("200", 0),
        "ack_ms": percentiles(ok) if ok else {},
        "acks_over_900_ms": sum(ms > 900 for ms in ok),
        "wall_s": client["wall_s"],
        "throughput_per_s": args.requests / client["wall_s"],
        "answers_posted": sum(answers.values()),
        "duplicate_answers": sum(n - 1 for n in answers.values() if n > 1),
        "missing_answers": args.requests - len(answers) if args.dispatch != "none" else None,
        "answers_done_after_last_ack_s": drain_s,
        "chalice_local_cpu_ms_per_request": server_cpu * 1000 / args.requests,
        "client_cpu_ms_per_request": client["cpu_s"] * 1000 / args.requests,
        "load_average_1min_before_after": load_average,
        "lambda_standin": lambda_stats,
    }


def setup_text(args: argparse.Namespace) -> str:
    if args.dispatch == "lambda":
        return (
            "chalice local (one process) -> LambdaDispatcher (boto3 invoke, Event) -> Lambda stand-in "
            f"process -> app.worker in {args.worker_processes} worker process(es) at nice +{args.worker_nice}"
        )
    if args.dispatch == "none":
        return "chalice local (one process) with a no-op dispatcher: the ack path alone, no answers"
    return "chalice local (one process), DISPATCH_MODE=local: each job on a thread inside chalice local"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["client"]:
        client_main()
        return 0
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3, help="measured batches against the same warm server")
    parser.add_argument(
        "--dispatch",
        choices=("lambda", "local", "none"),
        default="lambda",
        help="lambda: boto3 invoke to the Lambda stand-in; local: worker thread in chalice local; "
        "none: a no-op dispatcher (the ack path's floor; no answers)",
    )
    parser.add_argument("--warm-up", type=int, default=WARM_UP, help="unmeasured requests before each run")
    parser.add_argument("--worker-processes", type=int, default=1)
    parser.add_argument("--worker-nice", type=int, default=10)
    args = parser.parse_args(argv)

    measured = run(args)
    runs = measured["runs"]
    header = ("measure", *(f"run {i + 1}" for i in range(len(runs))), "target", "verdict")
    worst = lambda key: max(r[key] for r in runs)  # noqa: E731
    worst_p99 = max(r["ack_ms"].get("p99", float("inf")) for r in runs)
    rows: list[tuple[Any, ...]] = [
        (
            "errors (non-200 acks)",
            *(r["errors"] for r in runs),
            0,
            "meets" if worst("errors") == 0 else "MISSES",
        ),
        *(
            (f"ack {point} (ms)", *(r["ack_ms"].get(point, "-") for r in runs), "", "")
            for point in ("p50", "p90")
        ),
        (
            "ack p99 (ms)",
            *(r["ack_ms"].get("p99", "-") for r in runs),
            TARGET_P99_MS,
            verdict(worst_p99, TARGET_P99_MS),
        ),
        ("ack max (ms)", *(r["ack_ms"].get("max", "-") for r in runs), "", ""),
        ("throughput (acks/s)", *(r["throughput_per_s"] for r in runs), "", ""),
        ("answers posted", *(r["answers_posted"] for r in runs), args.requests, ""),
        (
            "duplicate answers",
            *(r["duplicate_answers"] for r in runs),
            0,
            "meets" if worst("duplicate_answers") == 0 else "MISSES",
        ),
        (
            "missing answers",
            *(r["missing_answers"] for r in runs),
            0,
            "n/a" if args.dispatch == "none" else "meets" if worst("missing_answers") == 0 else "MISSES",
        ),
        ("answers done after last ack (s)", *(r["answers_done_after_last_ack_s"] for r in runs), "", ""),
        (
            "chalice local CPU per request (ms)",
            *(r["chalice_local_cpu_ms_per_request"] for r in runs),
            "",
            "",
        ),
        ("client CPU per request (ms)", *(r["client_cpu_ms_per_request"] for r in runs), "", ""),
        (
            "load average before -> after",
            *(" -> ".join(fmt(x) for x in r["load_average_1min_before_after"]) for r in runs),
            "",
            "",
        ),
    ]
    print_table(
        f"load: {args.requests} signed requests x {len(runs)} runs, concurrency {args.concurrency}, "
        f"chalice local on 127.0.0.1\nset-up: {setup_text(args)}",
        header,
        rows,
    )
    p99s = [r["ack_ms"]["p99"] for r in runs if r["ack_ms"]]
    write_results(
        "load" if args.dispatch == "lambda" else f"load-{args.dispatch}",
        {
            "requests": args.requests,
            "concurrency": args.concurrency,
            "dispatch": args.dispatch,
            "setup": setup_text(args),
            "worker_processes": args.worker_processes if args.dispatch == "lambda" else None,
            "worker_nice": args.worker_nice if args.dispatch == "lambda" else None,
            "warm_up_requests": args.warm_up,
            "client": "separate process, one asyncio loop, a new connection per request, signed in advance",
            "command": " ".join(["python -m bench.load", *argv]),
            "runs": runs,
            "ack_p99_ms_spread": {"min": min(p99s), "median": statistics.median(p99s), "max": max(p99s)}
            if p99s
            else {},
            "targets": {"errors": 0, "ack_p99_ms": TARGET_P99_MS},
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
