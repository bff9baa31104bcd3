"""Exactly one answer per question across containers, end to end, over real processes.

Each "container" is its own process with its own memory and boto3 clients, as two Lambda execution
environments are: worker processes running `app.worker`, and `chalice local` servers running the API
function with the worker in-process (local dispatch). They share only the idempotency table on the
moto server and the Slack stand-in, which counts the answers. A retry of an event is handled like any
delivery, so a retry reaching another container than the original is handed over there too. Each
scenario also runs without the table, and answers twice there: the table is what makes it pass.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from export.sample import SAMPLE_TEAMS
from scripts.local_server import ChaliceLocal
from tests.support.dynamodb import Table
from tests.support.serving import BOT_USER, SIGNING_SECRET, event_body
from tests.support.slack_standin import SlackStandIn

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
JSON = "application/json"

_WORKER_CONTAINER = """
import json, sys
import app
from chalicelib import logs
from chalicelib.worker import handler

class Context:
    aws_request_id = sys.argv[1]
    def get_remaining_time_in_millis(self):
        return 60_000

handler.get_worker().holder.get(logs.Timings())  # warm: settings read, model loaded
print("ready", flush=True)
event = json.loads(sys.stdin.readline())
print(json.dumps(app.worker(event, Context())), flush=True)
"""


def _env(table: Table, tmp_path: Path, model_dir: Path, slack: SlackStandIn, shared: bool) -> dict[str, str]:
    env = {
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_BOT_TOKEN": "xoxb-duplicates",
        "MODEL_URI": str(model_dir),
        "MODEL_CACHE_DIR": str(tmp_path / "cache"),
        "DISPATCH_MODE": "local",
        "TEAM_DIRECTORY": str(SAMPLE_TEAMS),
        "RESPONSE_URL_EXTRA_HOSTS": slack.host,
        "SLACK_API_BASE_URL": slack.api_url,
        "IDEMPOTENCY_TABLE": table.name if shared else "",
    }
    return env


def _mention(channel: str = "D0001", ts: str = "1700.000100") -> dict[str, Any]:
    return {
        "type": "app_mention",
        "user": "U0001",
        "text": f"<@{BOT_USER}> who can help with the nightly export to the warehouse?",
        "channel": channel,
        "ts": ts,
    }


# --- the worker invoked in two containers -------------------------------------------------


def _start_worker_container(env: dict[str, str], name: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _WORKER_CONTAINER, name],
        cwd=REPO,
        env={**os.environ, **env},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


@pytest.mark.parametrize("shared", [True, False], ids=["with-table", "without-table"])
def test_one_job_in_two_worker_containers(
    shared: bool,
    idempotency_table: Table,
    sample_model_dir: Path,
    slack_standin: SlackStandIn,
    tmp_path: Path,
) -> None:
    from chalicelib.jobs import Job

    env = _env(idempotency_table, tmp_path, sample_model_dir, slack_standin, shared)
    job = Job.for_message(
        question="who can help with the nightly export?",
        user_id="U1",
        channel="C1",
        ts="1.2",
        thread_ts="1.2",
    )
    containers = [_start_worker_container(env, f"container-{n}") for n in range(2)]
    try:
        for container in containers:  # both warm, then the same job to both at once
            assert container.stdout is not None and container.stdout.readline().strip() == "ready"
        for container in containers:
            assert container.stdin is not None
            container.stdin.write(json.dumps(job.to_dict()) + "\n")
            container.stdin.flush()
        results = [
            json.loads(container.communicate(timeout=60)[0].strip().splitlines()[-1])
            for container in containers
        ]
    finally:
        for container in containers:
            if container.poll() is None:
                container.kill()

    outcomes = sorted(result["outcome"] for result in results)
    posts = [request for request in slack_standin.received if request.path == "/api/chat.postMessage"]
    if shared:
        assert outcomes == ["answered", "duplicate"]
        assert len(posts) == 1
    else:
        assert outcomes == ["answered", "answered"]  # per-container memory cannot help here
        assert len(posts) == 2


# --- Events API deliveries to two API containers ------------------------------------------


def _outcomes(logs: list[Path]) -> list[str]:
    found = []
    for path in logs:
        for line in path.read_text(errors="replace").splitlines():
            if line.startswith("{") and '"event": "job_' in line:
                event = json.loads(line)["event"]
                if event in ("job_done", "job_duplicate"):
                    found.append(event)
    return found


def _wait_for_outcomes(logs: list[Path], count: int, timeout: float = 60.0) -> list[str]:
    """Each container logs one line when its job is over; polls the servers' logs for them."""
    deadline = time.monotonic() + timeout
    while len(found := _outcomes(logs)) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout}s for {count} job outcomes in the logs; found {found}")
        time.sleep(0.05)
    return found


@pytest.fixture
def api_containers(
    request: pytest.FixtureRequest,
    idempotency_table: Table,
    sample_model_dir: Path,
    slack_standin: SlackStandIn,
    tmp_path: Path,
) -> Iterator[tuple[list[ChaliceLocal], list[Path]]]:
    env = _env(idempotency_table, tmp_path, sample_model_dir, slack_standin, request.param)
    logs = [tmp_path / f"container-{n}.log" for n in range(2)]
    servers = [ChaliceLocal(env, SIGNING_SECRET) for _ in logs]
    try:
        for server, log in zip(servers, logs, strict=True):
            server.start(log)
        yield servers, logs
    finally:
        for server in servers:
            server.stop()


@pytest.mark.parametrize("api_containers", [True, False], ids=["with-table", "without-table"], indirect=True)
def test_a_storm_of_duplicate_deliveries_across_two_api_containers(
    api_containers: tuple[list[ChaliceLocal], list[Path]], slack_standin: SlackStandIn, request: Any
) -> None:
    (a, b), logs = api_containers
    shared = request.node.callspec.params["api_containers"]
    mention = _mention()
    message = {**mention, "type": "message", "channel_type": "im"}
    deliveries = [
        (a, event_body(mention, event_id="Ev1"), {}),
        (b, event_body(mention, event_id="Ev1"), {}),  # the same event_id in another container
        (b, event_body(message, event_id="Ev2"), {}),  # the mention, delivered again as a message
        (a, event_body(message, event_id="Ev2"), {}),
        *(
            (server, event_body(mention, event_id="Ev1"), {"X-Slack-Retry-Num": str(n)})
            for n, server in ((1, a), (2, b), (3, a))
        ),
    ]

    statuses = [
        server.post_signed("/slack/events", body, JSON, **headers)[0] for server, body, headers in deliveries
    ]

    assert statuses == [200] * len(deliveries)
    # Each container's own memory lets one job through (Ev1); the retries and Ev2 stop at the API.
    outcomes = _wait_for_outcomes(logs, 2)
    posts = [request for request in slack_standin.received if request.path == "/api/chat.postMessage"]
    if shared:
        assert sorted(outcomes) == ["job_done", "job_duplicate"]
        assert len(posts) == 1
        assert (posts[0].body["channel"], posts[0].body["thread_ts"]) == ("D0001", "1700.000100")
    else:
        assert outcomes == ["job_done", "job_done"]
        assert len(posts) == 2
    print(f"{len(deliveries)} deliveries of one question -> {len(posts)} answer(s)", file=sys.stderr)


@pytest.mark.parametrize("order", ["original_first", "retry_first"])
@pytest.mark.parametrize("api_containers", [True, False], ids=["with-table", "without-table"], indirect=True)
def test_a_retry_reaching_another_api_container_is_answered_once(
    api_containers: tuple[list[ChaliceLocal], list[Path]],
    slack_standin: SlackStandIn,
    request: Any,
    order: str,
) -> None:
    """Slack retries when it did not see the ack in time, though the first delivery may have arrived:
    each container then hands the question over (neither remembers the other's delivery), and only
    the worker's ledger keeps the answer single."""
    (a, b), logs = api_containers
    shared = request.node.callspec.params["api_containers"]
    body = event_body(_mention(ts="1700.000200"), event_id="Ev9")
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    deliveries = [(a, {}), (b, retry)] if order == "original_first" else [(a, retry), (b, {})]

    statuses = [
        server.post_signed("/slack/events", body, JSON, **headers)[0] for server, headers in deliveries
    ]

    assert statuses == [200, 200]
    outcomes = _wait_for_outcomes(logs, 2)
    posts = [request for request in slack_standin.received if request.path == "/api/chat.postMessage"]
    if shared:
        assert sorted(outcomes) == ["job_done", "job_duplicate"]
        assert len(posts) == 1
    else:
        assert outcomes == ["job_done", "job_done"]  # the table is what keeps it to one answer
        assert len(posts) == 2
