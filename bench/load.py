"""Load: 2,000 signed /whoknows requests at concurrency 50 against `chalice local` on 127.0.0.1.

Reports errors, duplicate and missing answers, and ack latency percentiles (target: 0 errors,
p99 <= 100 ms). Traffic goes to loopback only; the run is bounded in count and time.

    .venv/bin/python -m bench.load [--requests 2000] [--concurrency 50]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.common import percentiles, print_table, verdict, write_results
from bench.serving import SECRET, sample_questions, serving_env, signed_headers, slash_body
from scripts.local_server import ChaliceLocal
from tests.support.slack_standin import SlackStandIn

TARGET_P99_MS = 100.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args(argv)

    from export.sample import SAMPLE_TICKETS
    from export.train import train

    questions = sample_questions()
    with tempfile.TemporaryDirectory() as work, SlackStandIn() as slack:
        model = Path(work) / "model"
        train(SAMPLE_TICKETS, model, min_tickets_per_team=5, progress=False)
        env = serving_env(str(model), Path(work) / "cache", slack.host)
        with ChaliceLocal(env, SECRET).start(Path(work) / "chalice.log") as server:

            def one(i: int) -> tuple[int | str, float]:
                body = slash_body(questions[i % len(questions)], f"load.{i}", slack.response_url(f"r{i}"))
                request = urllib.request.Request(
                    server.base_url + "/slack/commands",
                    data=body,
                    method="POST",
                    headers=signed_headers(body),
                )
                started = time.perf_counter()
                try:
                    with urllib.request.urlopen(request, timeout=10) as response:
                        response.read()
                        status: int | str = response.status
                except urllib.error.HTTPError as error:
                    status = error.code
                except OSError as error:
                    status = type(error).__name__
                return status, (time.perf_counter() - started) * 1000

            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
                results = list(pool.map(one, range(args.requests)))
            wall = time.perf_counter() - started
            deadline = time.monotonic() + 120
            while len(slack.accepted) < args.requests and time.monotonic() < deadline:
                time.sleep(0.2)
            answered = Counter(post.path for post in slack.accepted)

    statuses = Counter(str(status) for status, _ in results)
    latency = percentiles([ms for status, ms in results if status == 200])
    errors = args.requests - statuses.get("200", 0)
    duplicates = sum(n - 1 for n in answered.values() if n > 1)
    missing = args.requests - len(answered)
    print_table(
        f"load: {args.requests} signed requests, concurrency {args.concurrency}, chalice local on 127.0.0.1",
        ("measure", "value", "target", "verdict"),
        [
            ("errors (non-200 acks)", errors, 0, "meets" if errors == 0 else "MISSES"),
            ("ack p50 (ms)", latency["p50"], "", ""),
            ("ack p90 (ms)", latency["p90"], "", ""),
            ("ack p99 (ms)", latency["p99"], TARGET_P99_MS, verdict(latency["p99"], TARGET_P99_MS)),
            ("throughput (acks/s)", args.requests / wall, "", ""),
            ("answers posted", len(slack.accepted), args.requests, ""),
            ("duplicate answers", duplicates, 0, "meets" if duplicates == 0 else "MISSES"),
            ("missing answers", missing, 0, "meets" if missing == 0 else "MISSES"),
        ],
    )
    write_results(
        "load",
        {
            "requests": args.requests,
            "concurrency": args.concurrency,
            "statuses": dict(statuses),
            "ack_ms": latency,
            "wall_s": wall,
            "answers_posted": len(slack.accepted),
            "duplicate_answers": duplicates,
            "missing_answers": missing,
            "targets": {"errors": 0, "ack_p99_ms": TARGET_P99_MS},
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
