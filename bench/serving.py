"""Benchmark: the serving path, on the sample model (and optionally a real one).

(a) ack latency in-process: signed slash commands through chalice.test.Client, local dispatch mode
    (the job runs on a thread and posts to a Slack stand-in; we wait for it between requests so only
    the acknowledgement is timed). Also routes.slash_command without Chalice. Target p99 <= 2 ms.
(b) ack latency over loopback HTTP to `chalice local` (subprocess), sequential. Target p99 <= 20 ms.
(c) API-function cold start: fresh interpreter imports app and answers one signed slash command
    through app.app (the Lambda entry point) with a null dispatcher; wall time from spawn to exit,
    with `python -c pass` as a baseline. Target <= 250 ms.
(d) worker cold start: fresh interpreter imports app and runs the worker handler with one job; model
    fetched from a moto S3 server (published with export.publish), answer posted to the Slack
    stand-in; wall time from spawn to the stand-in receiving the answer. Target <= 600 ms. Run again
    as deployed ("-idempotency"): the worker first claims the job in the DynamoDB idempotency table
    (moto), and records it as done after posting.
(e) warm prediction: Predictor.rank (normalise + session + ranking) and the raw session.run, in
    blocks, the models in turn (see warm_predict). Target rank p50 <= 100 us.
(f) worker peak memory: RSS high-water mark (VmHWM, not ru_maxrss: see bench.rss.peak_rss_kb)
    of the (d) subprocess. Target <= 150 MB without the ticket index, <= 180 MB with it.
(g) warm answer: what the worker computes per question (chalicelib.model.answer: normalise,
    predict, explain, find the past tickets), for a model that ships its ticket index. Target
    p50 <= 1 ms. With a real model, (d) and (f) also run for the same model without its index
    ("-no-index"), in turn, to show what the index costs a cold start (target <= +100 ms).

    python -m bench.serving [--real-model DIR] [--quick]
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench._cold_probe import NullDispatcher
from bench.common import PYTHON, REPO, percentiles, print_table, run_child, verdict, write_results
from chalicelib.config import SETTING_NAMES

SECRET = "bench-signing-secret-0123456789abcdef"
TOKEN = "xoxb-bench-token"
WORKER_FUNCTION = "whoknows-bench-worker"
TARGETS = {
    "ack_inprocess_p99_ms": 2.0,
    "ack_http_p99_ms": 20.0,
    "api_cold_ms": 250.0,
    "worker_cold_ms": 600.0,
    "rank_p50_us": 100.0,
    "worker_maxrss_mb": 150.0,
    "worker_maxrss_with_index_mb": 180.0,
    "answer_p50_us": 1000.0,
    "index_cold_start_cost_ms": 100.0,
}


def slash_body(text: str, trigger: str, response_url: str) -> bytes:
    from tests.support.serving import slash_body as form

    return form(text, trigger_id=trigger, response_url=response_url)


def signed_headers(body: bytes) -> dict[str, str]:
    from tests.support.serving import signed

    return signed(body, "application/x-www-form-urlencoded", SECRET)


def sample_questions() -> list[str]:
    from export.sample import SAMPLE_TICKETS
    from export.tickets import read_tickets_with_report

    tickets, _ = read_tickets_with_report(SAMPLE_TICKETS)
    return [t.summary for t in tickets if t.summary]


def serving_env(model_uri: str, cache: Path, slack_host: str, **extra: str) -> dict[str, str]:
    return {
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_BOT_TOKEN": TOKEN,
        "MODEL_URI": model_uri,
        "MODEL_CACHE_DIR": str(cache),
        "DISPATCH_MODE": "local",
        "RESPONSE_URL_EXTRA_HOSTS": slack_host,
        **extra,
    }


def apply_env(env: dict[str, str]) -> None:
    from chalicelib.api import runtime as api_runtime
    from chalicelib.worker import handler

    for name in SETTING_NAMES:
        os.environ.pop(name, None)
    os.environ.update(env)
    api_runtime.reset()
    handler.reset_worker()


def ack_inprocess(env: dict[str, str], slack: Any, questions: list[str], n: int) -> dict[str, Any]:
    from chalice.test import Client

    from app import app
    from chalicelib.api import routes
    from chalicelib.api import runtime as api_runtime

    def through_client(prefix: str, wait_for_job: bool) -> list[float]:
        """Signed slash commands through chalice.test.Client, 20 untimed warm-up requests first
        (the first one loads the settings and the model)."""
        timed = []
        with Client(app) as client:
            for i in range(-20, n):
                body = slash_body(
                    questions[i % len(questions)], f"{prefix}.{i}", slack.response_url(f"{prefix}{i}")
                )
                headers = signed_headers(body)
                t = time.perf_counter()
                response = client.http.post("/slack/commands", headers=headers, body=body)
                elapsed = time.perf_counter() - t
                assert response.status_code == 200, response.body
                if i >= 0:
                    timed.append(elapsed * 1e3)
                if wait_for_job:
                    api_runtime.get_runtime().dispatcher.join()  # answer posted before the next request
        return timed

    apply_env(env)
    posted_before = len(slack.accepted)
    chalice_ms = through_client("a", wait_for_job=True)
    api_runtime.reset(dispatcher=NullDispatcher())  # same env; no job thread competing for the GIL
    null_ms = through_client("n", wait_for_job=False)
    direct_ms = []
    apply_env(env)
    for i in range(n):
        body = slash_body(questions[i % len(questions)], f"d.{i}", slack.response_url(f"d{i}"))
        headers = signed_headers(body)
        t = time.perf_counter()
        reply = routes.slash_command(body, headers)
        direct_ms.append((time.perf_counter() - t) * 1e3)
        assert reply.status == 200
        api_runtime.get_runtime().dispatcher.join()
    slack.wait_for(posted_before + 2 * n + 20, timeout=30)
    return {
        "requests": n,
        "chalice_test_client_ms": percentiles(chalice_ms),
        "routes_direct_ms": percentiles(direct_ms),
        "chalice_test_client_null_dispatcher_ms": percentiles(null_ms),
        "answers_posted": len(slack.accepted) - posted_before,
    }


def ack_http(env: dict[str, str], slack: Any, questions: list[str], n: int) -> dict[str, Any]:
    from scripts.local_server import ChaliceLocal

    latencies = []
    posted_before = len(slack.accepted)
    with ChaliceLocal(env, SECRET) as server:
        for i in range(-10, n):
            body = slash_body(questions[i % len(questions)], f"h.{i}", slack.response_url(f"h{i}"))
            request = urllib.request.Request(
                server.base_url + "/slack/commands", data=body, method="POST", headers=signed_headers(body)
            )
            t = time.perf_counter()
            with urllib.request.urlopen(request, timeout=10) as response:
                response.read()
                status = response.status
            elapsed = time.perf_counter() - t
            assert status == 200
            if i >= 0:
                latencies.append(elapsed * 1e3)
            slack.wait_for(posted_before + i + 11, timeout=10)  # the job finished before the next request
    return {"requests": n, "ack_ms": percentiles(latencies)}


def api_cold(env: dict[str, str], questions: list[str], runs: int, work: Path) -> dict[str, Any]:
    from chalice.config import Config
    from chalice.local import LocalGateway

    from app import app

    gateway = LocalGateway(app, Config())
    child_env = {**os.environ, **env}
    baseline, cold, children = [], [], []
    for i in range(runs):
        wall, _ = run_child(["-c", "pass"], env=child_env)
        baseline.append(wall * 1e3)
        body = slash_body(questions[i % len(questions)], f"c.{i}", "https://hooks.slack.com/commands/T1/1/x")
        event = gateway._generate_lambda_event("POST", "/slack/commands", signed_headers(body), body)
        event["body"] = body.decode()
        event_file = work / f"api-event-{i}.json"
        event_file.write_text(json.dumps(event))
        wall, child = run_child(["-m", "bench._cold_probe", "api", str(event_file)], env=child_env)
        assert child["ok"], child
        cold.append(wall * 1e3)
        children.append(child)
    return {
        "runs": runs,
        "python_pass_ms": percentiles(baseline),
        "api_cold_wall_ms": percentiles(cold),
        "import_app_ms": percentiles([c["import_app_s"] * 1e3 for c in children]),
        "first_request_ms": percentiles([c["handle_s"] * 1e3 for c in children]),
        "maxrss_mb": statistics.median(c["maxrss_kb"] / 1024 for c in children),
        "numpy_loaded": any(c["numpy_loaded"] for c in children),
        "modules": children[-1]["modules"],
    }


def worker_cold(
    configs: list[tuple[str, Path, dict[str, str]]],
    slack: Any,
    s3: dict[str, str],
    questions: list[str],
    runs: int,
    work: Path,
) -> dict[str, dict[str, Any]]:
    """(d) and (f) for each (tag, model folder, extra environment), run by run in turn: the machine's
    speed drifts between minutes, and blocks of runs taken one after the other compared the drift
    more than the configurations."""
    uris = {tag: publish_model(model_dir, s3, tag) for tag, model_dir, _ in configs}
    runs_of: dict[str, list[tuple[float, float, dict[str, Any]]]] = {tag: [] for tag, _, _ in configs}
    for i in range(runs):
        for tag, _, extra_env in configs:
            extra = {} if tag == "sample" else {"TEAM_DIRECTORY": ""}
            env = {**serving_env(uris[tag], work, slack.host, **extra), **s3, **extra_env}
            question = questions[i % len(questions)]
            runs_of[tag].append(cold_worker_run(REPO, env, question, slack, work, f"{tag}-{i}"))
    return {tag: _cold_summary(model_dir, runs_of[tag]) for tag, model_dir, _ in configs}


def _cold_summary(model_dir: Path, runs: list[tuple[float, float, dict[str, Any]]]) -> dict[str, Any]:
    to_answer = [answered for answered, _, _ in runs]
    wall_ms = [exited for _, exited, _ in runs]
    children = [child for _, _, child in runs]
    return {
        "runs": len(runs),
        "model_bytes": (model_dir / "model.onnx").stat().st_size,
        "spawn_to_answer_ms": percentiles(to_answer),
        "spawn_to_exit_ms": percentiles(wall_ms),
        "import_app_ms": percentiles([c["import_app_s"] * 1e3 for c in children]),
        "handle_job_ms": percentiles([c["handle_s"] * 1e3 for c in children]),
        "worker_logged_ms": {
            key: percentiles([c["logged_ms"][key] for c in children if key in c.get("logged_ms", {})])
            for key in children[0].get("logged_ms", {})
        },
        "cpu_ms": percentiles([c["cpu_ms"] for c in children]),
        "gc_passes": percentiles([c["gc_passes"] for c in children]),
        "gc_ms": percentiles([c["gc_ms"] for c in children]),
        "maxrss_mb": percentiles([c["maxrss_kb"] / 1024 for c in children]),
        "ru_maxrss_mb_inherited": percentiles([c["ru_maxrss_kb"] / 1024 for c in children]),
    }


def compile_as_bundled(tree: Path) -> None:
    """As deployed: the bundle ships bytecode for these (deploy/bundle.py), so cold starts must not
    pay for compiling them (this environment may set PYTHONDONTWRITEBYTECODE)."""
    compileall.compile_dir(tree / "chalicelib", quiet=1)
    compileall.compile_file(tree / "app.py", quiet=1)


@contextlib.contextmanager
def local_aws(work: Path) -> Iterator[dict[str, str]]:
    """A moto server on 127.0.0.1 (S3, DynamoDB) with this process's environment pointed at it
    (dummy credentials, no profile); yields those variables for the probes' environments too."""
    from moto.server import ThreadedMotoServer

    from tests.support.aws import fake_aws_env

    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    try:
        host, port = moto.get_host_and_port()
        aws = fake_aws_env(work / "aws-absent", S3=f"http://{host}:{port}")
        for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
            os.environ.pop(name, None)
        os.environ.update(aws)
        yield aws
    finally:
        moto.stop()


def publish_model(model_dir: Path, s3: dict[str, str], tag: str) -> str:
    """Publishes `model_dir` with export.publish to a new bucket on the S3 endpoint; its MODEL_URI."""
    import boto3

    from export.publish import publish

    client = boto3.client("s3", endpoint_url=s3["AWS_ENDPOINT_URL_S3"], region_name=s3["AWS_DEFAULT_REGION"])
    bucket = f"whoknows-bench-{tag}"
    client.create_bucket(Bucket=bucket)
    publish(model_dir, f"s3://{bucket}/models", client)
    return f"s3://{bucket}/models"


def cold_worker_run(
    repo: Path, env: dict[str, str], question: str, slack: Any, work: Path, name: str
) -> tuple[float, float, dict[str, Any]]:
    """One fresh worker interpreter from `repo` answering one slash job: (spawn -> answer posted ms,
    spawn -> exit ms, the probe's own figures). As Lambda runs the worker: an empty model cache, and
    AWS_LAMBDA_FUNCTION_NAME naming the worker, so app.py's init-phase warm-up runs at import and
    the handler follows.
    """
    from chalicelib.jobs import Job

    job = Job.for_slash_command(
        question=question,
        user_id="U0001",
        response_url=slack.response_url(f"w-{name}"),
        trigger_id=f"w.{name}",
    )
    job_file = work / f"job-{name}.json"
    job_file.write_text(json.dumps(job.to_dict()))
    env = {
        **os.environ,
        **env,
        "MODEL_CACHE_DIR": str(work / f"cache-{name}"),
        "PYTHONPATH": str(repo),
        "AWS_LAMBDA_FUNCTION_NAME": WORKER_FUNCTION,
        "WORKER_FUNCTION_NAME": WORKER_FUNCTION,
    }
    before = len(slack.accepted)
    cpu_before = _children_cpu_s()
    start = time.monotonic()
    done = subprocess.run(
        [PYTHON, "-m", "bench._cold_probe", "worker", str(job_file)],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    exited = time.monotonic()
    if done.returncode != 0:
        raise RuntimeError(f"worker probe failed:\n{done.stderr[-3000:]}")
    child = json.loads([line for line in done.stdout.splitlines() if line.startswith("{")][-1])
    child["cpu_ms"] = (_children_cpu_s() - cpu_before) * 1e3  # all threads, start to exit
    if not child["ok"]:
        raise ProbeFailed(_last_error(done.stderr))
    child["logged_ms"] = {}
    for line in done.stderr.splitlines():
        if '"warm_up_done"' in line or '"job_done"' in line:  # the init phase's timings, the job's
            logged = json.loads(line)
            child["logged_ms"].update(
                {k: v for k, v in logged.items() if k.endswith("_ms") and isinstance(v, int | float)}
            )
    answer = slack.wait_for(before + 1, timeout=10)[-1]
    return (answer.at - start) * 1e3, (exited - start) * 1e3, child


class ProbeFailed(RuntimeError):
    """The worker probe ran but did not answer; the message is the worker's last logged error."""


def _last_error(log: str) -> str:
    logged = []
    for line in log.splitlines():
        with contextlib.suppress(ValueError):
            record = json.loads(line)
            if isinstance(record, dict) and "error" in record:
                logged.append(record)
    if not logged:
        return log.strip().splitlines()[-1] if log.strip() else "no answer and nothing logged"
    return f"{logged[-1].get('event')}: {logged[-1]['error']}"


def _children_cpu_s() -> float:
    """User + system CPU of this process's waited-for children: one child runs at a time here."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


WARM_BLOCKS = 10
"""(e) is taken in this many blocks per model, the models in turn block by block."""


def warm_predict(model_files: dict[str, Path], questions: list[str], n: int) -> dict[str, dict[str, Any]]:
    """(e) for each model: `n` timed calls of each kind, in WARM_BLOCKS blocks, the models in turn.

    One block of 5,000 calls takes ~0.5 s, shorter than the machine's slow phases (a same-model block
    measured 67 and 119 us p50 a second apart): whichever model's block met one missed. In turn,
    block by block, the drift hits every model alike, and the percentiles pool every call. Each
    block's own rank p50 is kept (`rank_block_p50_us`) to show the spread."""
    import numpy as np
    import onnxruntime as ort

    from chalicelib.model.predictor import Predictor
    from chalicelib.text import normalize

    normalized = [normalize(q) for q in questions]
    batches = [np.array([q], dtype=object).reshape(-1, 1) for q in normalized]
    predictors = {tag: Predictor(path) for tag, path in model_files.items()}
    sessions = {
        tag: ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        for tag, path in model_files.items()
    }
    for predictor in predictors.values():
        for q in questions[:200]:
            predictor.rank(q)
    timings = {tag: {"rank": [], "run": [], "normalize": [], "block_p50": []} for tag in predictors}
    per_block = max(1, n // WARM_BLOCKS)
    for block in range(WARM_BLOCKS):
        for tag, predictor in predictors.items():
            session, times = sessions[tag], timings[tag]
            block_rank: list[float] = []
            for i in range(block * per_block, (block + 1) * per_block):
                q = questions[i % len(questions)]
                t = time.perf_counter()
                predictor.rank(q)
                block_rank.append((time.perf_counter() - t) * 1e6)
                batch = batches[i % len(batches)]
                t = time.perf_counter()
                session.run(["probabilities"], {"text": batch})
                times["run"].append((time.perf_counter() - t) * 1e6)
                t = time.perf_counter()
                normalize(q)
                times["normalize"].append((time.perf_counter() - t) * 1e6)
            times["rank"] += block_rank
            times["block_p50"].append(statistics.median(block_rank))
    return {
        tag: {
            "calls": len(timings[tag]["rank"]),
            "blocks": WARM_BLOCKS,
            "labels": len(predictor.labels),
            "rank_us": percentiles(timings[tag]["rank"]),
            "rank_block_p50_us": [round(value, 1) for value in timings[tag]["block_p50"]],
            "session_run_us": percentiles(timings[tag]["run"]),
            "normalize_us": percentiles(timings[tag]["normalize"]),
        }
        for tag, predictor in predictors.items()
    }


def warm_answer(model_dir: Path, questions: list[str], n: int) -> dict[str, Any]:
    """(g): `answer_question` as the worker calls it, with the model's ticket index: normalise,
    predict, explain, the past tickets. Also the index lookup alone."""
    import io

    from chalicelib.model.answer import answer_question
    from chalicelib.model.manifest import MANIFEST_NAME, parse_manifest
    from chalicelib.model.predictor import Predictor
    from chalicelib.model.ticket_index import TicketIndex

    manifest = parse_manifest((model_dir / MANIFEST_NAME).read_bytes())
    if manifest.ticket_index is None:
        return {}
    predictor = Predictor(model_dir / manifest.model_path)
    index = TicketIndex.load(io.BytesIO((model_dir / manifest.ticket_index.path).read_bytes()))
    threshold = manifest.confidence_threshold or 0.5
    for q in questions[:200]:
        answer_question(predictor, q, threshold, index=index)
    answers, lookups, shown = [], [], 0
    for i in range(n):
        q = questions[i % len(questions)]
        t = time.perf_counter()
        answer = answer_question(predictor, q, threshold, index=index)
        answers.append((time.perf_counter() - t) * 1e6)
        shown += bool(answer.similar)
        explained = predictor.explain(q)
        ids = [term.id for term in explained.terms]
        t = time.perf_counter()
        index.similar(ids, team=explained.guesses[0].label if explained.guesses else None)
        lookups.append((time.perf_counter() - t) * 1e6)
    return {
        "calls": n,
        "answer_us": percentiles(answers),
        "index_lookup_us": percentiles(lookups),
        "answers_with_evidence": round(shown / n, 4),
        "index_bytes": manifest.ticket_index.size_bytes,
        "index_tickets": len(index),
    }


def without_index(model_dir: Path, work: Path) -> Path:
    """The same trained model without its ticket index: what the index costs, measured in turn."""
    import shutil

    from chalicelib.model.manifest import MANIFEST_NAME, parse_manifest

    manifest = parse_manifest((model_dir / MANIFEST_NAME).read_bytes())
    folder = work / "model-without-index"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(model_dir / manifest.model_path, folder / manifest.model_path)
    data = manifest.to_dict()
    data.pop("ticket_index", None)
    data["version"] = f"{manifest.version}-no-index"
    (folder / MANIFEST_NAME).write_text(json.dumps(data))
    return folder


def idempotency_env(aws: dict[str, str]) -> dict[str, str]:
    """The worker's environment as deployed: the idempotency table (shaped as
    deploy/merge-template.json declares it) on the moto endpoint, and DynamoDB pointed there."""
    import boto3

    from tests.support.dynamodb import create_table

    name = "whoknows-bench-idempotency"
    client = boto3.client(
        "dynamodb", endpoint_url=aws["AWS_ENDPOINT_URL_S3"], region_name=aws["AWS_DEFAULT_REGION"]
    )
    create_table(client, name)
    return {"IDEMPOTENCY_TABLE": name, "AWS_ENDPOINT_URL_DYNAMODB": aws["AWS_ENDPOINT_URL_S3"]}


def _row(
    label: str,
    unit: str,
    stats: dict[str, float],
    high: str = "max",
    target: float | None = None,
    judge: str = "p50",
) -> tuple[Any, ...]:
    """One table row: p50, the `high` statistic, and a verdict on `judge` when there is a target."""
    if target is None:
        return (label, unit, stats["p50"], stats[high], "", "")
    return (label, unit, stats["p50"], stats[high], target, verdict(stats[judge], target))


def model_rows(name: str, cold: dict[str, Any], warm: dict[str, Any] | None) -> list[tuple[Any, ...]]:
    t = TARGETS
    rows = [
        _row(
            f"(d) worker cold: spawn -> answer posted [{name}]",
            "ms",
            cold["spawn_to_answer_ms"],
            target=t["worker_cold_ms"],
        ),
        _row(
            f"    of which import app (init phase: imports, S3 fetch, load) [{name}]",
            "ms",
            cold["import_app_ms"],
        ),
        _row(f"    of which handler (claim, predict, post) [{name}]", "ms", cold["handle_job_ms"]),
        *[
            _row(f"      logged (warm_up_done, job_done): {key} [{name}]", "ms", value)
            for key, value in cold["worker_logged_ms"].items()
        ],
        _row(
            f"(f) worker peak RSS (VmHWM) [{name}]",
            "MB",
            cold["maxrss_mb"],
            target=t["worker_maxrss_mb"],
            judge="max",
        ),
    ]
    if warm is not None:
        rows += [
            _row(f"(e) warm Predictor.rank [{name}]", "us", warm["rank_us"], "p99", t["rank_p50_us"]),
            (
                f"    rank p50 of its fastest / slowest block [{name}]",
                "us",
                min(warm["rank_block_p50_us"]),
                max(warm["rank_block_p50_us"]),
                "",
                "",
            ),
            _row(f"    raw session.run, 1 question [{name}]", "us", warm["session_run_us"], "p99"),
            _row(f"    normalize() [{name}]", "us", warm["normalize_us"], "p99"),
        ]
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.serving", description=__doc__.split("\n")[0])
    parser.add_argument("--real-model", type=Path, help="a trained model folder (model.onnx + manifest.json)")
    parser.add_argument("--quick", action="store_true", help="small repeat counts (smoke run)")
    args = parser.parse_args(argv)
    n_ack, n_http, n_cold, n_wcold, n_warm = (
        (200, 100, 3, 3, 2000) if args.quick else (2000, 1000, 15, 10, 5000)
    )
    if args.real_model and not (args.real_model / "model.onnx").is_file():
        print(f"bench.serving: {args.real_model} has no model.onnx")
        return 1

    from export.sample import SAMPLE_TICKETS
    from export.train import train
    from tests.support.slack_standin import SlackStandIn

    compile_as_bundled(REPO)
    with tempfile.TemporaryDirectory(prefix="whoknows-bench-serving-") as tmp:
        work = Path(tmp)
        sample_dir = work / "sample-model"
        t = time.perf_counter()
        train(SAMPLE_TICKETS, sample_dir, min_tickets_per_team=5, progress=False)
        print(f"trained the sample model in {time.perf_counter() - t:.1f} s -> {sample_dir}")
        questions = sample_questions()

        results: dict[str, Any] = {"targets": TARGETS}
        quiet = open(os.devnull, "w")  # noqa: SIM115 - JSON log lines (still formatted: part of the cost)
        try:
            with local_aws(work) as s3, SlackStandIn() as slack, contextlib.redirect_stderr(quiet):
                env = serving_env(str(sample_dir), work / "cache-local", slack.host)
                results["ack_inprocess"] = ack_inprocess(env, slack, questions, n_ack)
                print("(a) done", flush=True)
                results["ack_http"] = ack_http(env, slack, questions, n_http)
                print("(b) done", flush=True)
                results["api_cold"] = api_cold(env, questions, n_cold, work)
                print("(c) done", flush=True)
                models = {"sample": sample_dir}
                if args.real_model:
                    models["real"] = args.real_model
                # As deployed: the worker first claims the job in the DynamoDB idempotency table.
                deployed = "real-idempotency" if args.real_model else "sample-idempotency"
                claimed = idempotency_env(s3)
                configs = [(tag, model_dir, {}) for tag, model_dir in models.items()]
                configs.append((deployed, models["real" if args.real_model else "sample"], claimed))
                if args.real_model:
                    configs.append(("real-no-index", without_index(args.real_model, work), {}))
                colds = worker_cold(configs, slack, s3, questions, n_wcold, work)
                print("(d, f) done", flush=True)
                warm = warm_predict(
                    {tag: path / "model.onnx" for tag, path in models.items()}, questions, n_warm
                )
                print("(e) done", flush=True)
                results["models"] = {
                    tag: {"dir": str(model_dir), "worker_cold": colds[tag], "warm": warm[tag]}
                    for tag, model_dir in models.items()
                }
                results["models"][deployed] = {"worker_cold": colds[deployed]}
                if args.real_model:
                    results["models"]["real-no-index"] = {"worker_cold": colds["real-no-index"]}
                    results["answer"] = warm_answer(args.real_model, questions, n_warm // 5)
                    print("(g) done", flush=True)
        finally:
            quiet.close()

    a, b, c = results["ack_inprocess"], results["ack_http"], results["api_cold"]
    client_ms = a["chalice_test_client_ms"]
    rows = [
        _row(
            "(a) ack in-process, chalice.test.Client",
            "ms",
            client_ms,
            "p99",
            TARGETS["ack_inprocess_p99_ms"],
            "p99",
        ),
        ("    p90 / max", "ms", client_ms["p90"], client_ms["max"], "", ""),
        _row(
            "    chalice.test.Client, null dispatcher (no job thread)",
            "ms",
            a["chalice_test_client_null_dispatcher_ms"],
            "p99",
        ),
        _row("    routes.slash_command, no Chalice (local dispatch)", "ms", a["routes_direct_ms"], "p99"),
        _row("(b) ack over HTTP, chalice local", "ms", b["ack_ms"], "p99", TARGETS["ack_http_p99_ms"], "p99"),
        _row(
            "(c) API cold: spawn -> reply -> exit", "ms", c["api_cold_wall_ms"], target=TARGETS["api_cold_ms"]
        ),
        _row("    baseline `python -c pass`", "ms", c["python_pass_ms"]),
        _row("    of which import app", "ms", c["import_app_ms"]),
        _row("    of which first request (settings, verify, reply)", "ms", c["first_request_ms"]),
    ]
    for tag, model in results["models"].items():
        rows += model_rows(tag, model["worker_cold"], model.get("warm"))
    if results.get("answer"):
        g = results["answer"]
        with_index, without = (
            results["models"]["real"]["worker_cold"],
            results["models"]["real-no-index"]["worker_cold"],
        )
        cost = with_index["spawn_to_answer_ms"]["p50"] - without["spawn_to_answer_ms"]["p50"]
        rows += [
            _row(
                "(g) warm answer with evidence [real]", "us", g["answer_us"], "p99", TARGETS["answer_p50_us"]
            ),
            _row("    of which the index lookup [real]", "us", g["index_lookup_us"], "p99"),
            ("    answers showing a past ticket [real]", "%", g["answers_with_evidence"] * 100, "", "", ""),
            (
                "    ticket index on disk [real]",
                "MB",
                g["index_bytes"] / 1e6,
                "",
                15.0,
                verdict(g["index_bytes"] / 1e6, 15.0),
            ),
            (
                "    cold start: with index - without, p50",
                "ms",
                cost,
                "",
                TARGETS["index_cold_start_cost_ms"],
                verdict(cost, TARGETS["index_cold_start_cost_ms"]),
            ),
            (
                "    peak RSS with index [real]",
                "MB",
                with_index["maxrss_mb"]["max"],
                "",
                TARGETS["worker_maxrss_with_index_mb"],
                verdict(with_index["maxrss_mb"]["max"], TARGETS["worker_maxrss_with_index_mb"]),
            ),
        ]
    print_table(
        f"serving (a: n={n_ack}, b: n={n_http}, c: {n_cold} runs, d/f: {n_wcold} runs, e: n={n_warm})",
        ["measure", "unit", "p50", "p99/max", "target", "verdict"],
        rows,
    )
    print(
        "p99/max: p99 for (a), (b), (e); max for the cold starts and memory. (c) and (d) verdicts use the "
        "median; (f) uses the max."
    )
    write_results("serving", {"quick": args.quick, **results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
