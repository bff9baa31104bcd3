"""The Lambda bundle as deployed: built once (chalice package + trim + budget), linted, and run.

The smoke test unzips the trimmed bundle into an empty folder and runs it in a fresh, isolated
interpreter (`-I -S`: no site-packages, no repo on the path) beside only what the Lambda runtime
provides (boto3 and its dependencies). The API handler gets a signed slash command as an API Gateway
proxy event and hands the job to a Lambda stand-in over real botocore; the worker handler then runs
that very payload against a model on the moto S3 server and posts to the Slack stand-in. A trim rule
that removed something the bot needs fails here.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deploy import bundle
from export.publish import publish
from tests.support.dynamodb import Table
from tests.support.lambda_standin import RecordingLambdaStandIn
from tests.support.serving import SIGNING_SECRET, signed, slash_body
from tests.support.slack_standin import SlackStandIn

pytestmark = [pytest.mark.packaging, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
WORKER = "whoknows-dev-worker"


def _pypi_reachable() -> bool:
    try:
        with socket.create_connection(("pypi.org", 443), timeout=5):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bundle.Report]:
    if not _pypi_reachable():
        pytest.skip("PyPI (pypi.org:443) is unreachable: chalice package must download Linux wheels")
    out = tmp_path_factory.mktemp("bundle") / "dev"
    report = bundle.build("dev", out)
    bundle.print_report(report, say=lambda line: print(line, file=sys.stderr))
    return out, report


@pytest.fixture(scope="session")
def unpacked(built: tuple[Path, bundle.Report], tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("unpacked")
    with zipfile.ZipFile(built[0] / "deployment.zip") as archive:
        archive.extractall(target)
    return target


@pytest.fixture(scope="session")
def lambda_runtime(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding only boto3 and friends, linked from the venv, as Lambda's runtime has them."""
    return bundle.lambda_runtime_folder(tmp_path_factory.mktemp("lambda-runtime"))


def test_bundle_is_within_budget_and_has_no_training_packages(built: tuple[Path, bundle.Report]) -> None:
    out, report = built
    assert report.problems == []
    assert report.zip_after <= bundle.MAX_ZIP_BYTES
    assert report.unzipped_after <= bundle.MAX_UNZIPPED_BYTES
    with zipfile.ZipFile(out / "deployment.zip") as archive:
        tops = {name.split("/")[0] for name in archive.namelist()}
    assert not {top for top in tops if top.startswith(("sklearn", "scipy", "scikit_learn"))}
    assert {"app.py", "chalicelib", "onnxruntime", "numpy", "slack_sdk"} <= tops


def test_cold_start_modules_ship_bytecode_this_runtime_can_use(built: tuple[Path, bundle.Report]) -> None:
    """Lambda's /var/task is read-only: without these, every cold start compiles them from source."""
    import importlib.util

    out, report = built
    with zipfile.ZipFile(out / "deployment.zip") as archive:
        names = set(archive.namelist())
        tag = sys.implementation.cache_tag
        for source in (
            "app.py",
            "chalicelib/api/routes.py",
            "chalicelib/worker/worker.py",
            "chalicelib/model/predictor.py",
            "slack_sdk/__init__.py",
        ):
            folder, _, module = source.rpartition("/")
            cached = f"{folder + '/' if folder else ''}__pycache__/{module[:-3]}.{tag}.pyc"
            assert cached in names, cached
            header = archive.read(cached)[:8]
            assert header[:4] == importlib.util.MAGIC_NUMBER
            assert int.from_bytes(header[4:8], "little") == 0b01  # hash-based, source not checked
    assert report.compiled >= 150


def test_generated_template_passes_cfn_lint(built: tuple[Path, bundle.Report]) -> None:
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run(
        [str(cfn_lint), str(built[0] / "sam.json")], capture_output=True, text=True, timeout=120
    )
    assert result.returncode & 2 == 0, result.stdout + result.stderr  # bit 2: errors; 4 is warnings


def test_template_wires_async_retries_to_a_dead_letter_queue(built: tuple[Path, bundle.Report]) -> None:
    resources = json.loads((built[0] / "sam.json").read_text())["Resources"]
    config = resources["WorkerAsyncInvokeConfig"]["Properties"]
    assert config["MaximumRetryAttempts"] == 2
    assert config["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["WorkerDeadLetterQueue", "Arn"]
    }
    assert resources["WorkerDeadLetterAlarm"]["Type"] == "AWS::CloudWatch::Alarm"
    api_env = resources["APIHandler"]["Properties"]["Environment"]["Variables"]
    assert api_env["DISPATCH_MODE"] == "lambda"
    assert api_env["WORKER_FUNCTION_NAME"] == {"Ref": "Worker"}
    assert not {name for name in api_env if name in ("SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN")}


@pytest.fixture
def lambda_standin() -> Iterator[RecordingLambdaStandIn]:
    """Lambda's Invoke API for the worker's name, recording what the API function hands over."""
    standin = RecordingLambdaStandIn(WORKER)
    with standin:
        yield standin


_RUNNER = """
import json, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
import app

class Context:
    aws_request_id = sys.argv[3]
    function_name = sys.argv[3]
    def get_remaining_time_in_millis(self):
        return 10_000

event = json.loads(sys.stdin.read())
handler = app.app if sys.argv[3] == "api" else app.worker
result = handler(event, Context())
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("numpy", "onnxruntime"))
leaked = sorted(m for m in sys.modules if m.split(".")[0] in ("sklearn", "scipy", "pytest", "moto"))
print(json.dumps({"result": result, "heavy": heavy, "leaked": leaked,
                  "files": sorted({getattr(m, "__file__", None) or "" for m in list(sys.modules.values())
                                   if getattr(m, "__file__", None)})}))
"""


def _run_in_bundle(
    unpacked: Path, runtime: Path, which: str, event: dict[str, Any], env: dict[str, str]
) -> dict[str, Any]:
    python = getattr(sys, "_base_executable", sys.executable)
    result = subprocess.run(
        [python, "-I", "-S", "-c", _RUNNER, str(unpacked), str(runtime), which],
        input=json.dumps(event),
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=unpacked,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def _proxy_event(path: str, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    return {
        "resource": path,
        "path": path,
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": "POST",
            "path": f"/api{path}",
            "stage": "api",
            "requestId": "smoke-api-request",
            "identity": {"sourceIp": "127.0.0.1"},
        },
        "body": body.decode(),
        "isBase64Encoded": False,
    }


def test_bundle_smoke_api_acks_and_hands_over_then_worker_answers_from_s3(
    unpacked: Path,
    lambda_runtime: Path,
    lambda_standin: RecordingLambdaStandIn,
    s3_server: str,
    s3_bucket: Any,
    slack_standin: SlackStandIn,
    sample_model_dir: Path,
    idempotency_table: Table,
    tmp_path: Path,
) -> None:
    client, bucket = s3_bucket
    publish(sample_model_dir, f"s3://{bucket}/models", client)
    env = {
        "PATH": "/usr/bin:/bin",
        "LANG": "C",  # Lambda has no en_US.UTF-8 locale
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "absent"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "absent"),
        "AWS_ENDPOINT_URL_LAMBDA": lambda_standin.url,
        "AWS_ENDPOINT_URL_S3": s3_server,
        "AWS_ENDPOINT_URL_DYNAMODB": idempotency_table.endpoint,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_BOT_TOKEN": "xoxb-smoke",
        "MODEL_URI": f"s3://{bucket}/models",
        "MODEL_CACHE_DIR": str(tmp_path / "cache"),
        "DISPATCH_MODE": "lambda",
        "WORKER_FUNCTION_NAME": WORKER,
        "RESPONSE_URL_EXTRA_HOSTS": slack_standin.host,
        "SLACK_API_BASE_URL": slack_standin.api_url,
        "IDEMPOTENCY_TABLE": idempotency_table.name,  # Powertools from the bundle, as deployed
    }
    body = slash_body("why is my refund stuck in pending?", response_url=slack_standin.response_url("smoke"))
    headers = signed(body, "application/x-www-form-urlencoded")

    started = time.perf_counter()
    api_env = {**env, "AWS_LAMBDA_FUNCTION_NAME": "whoknows-dev"}  # as Lambda sets it
    api = _run_in_bundle(
        unpacked, lambda_runtime, "api", _proxy_event("/slack/commands", body, headers), api_env
    )
    api_seconds = time.perf_counter() - started

    assert api["result"]["statusCode"] == 200, api["result"]
    assert "Looking for who knows" in json.loads(api["result"]["body"])["text"]
    assert api["heavy"] == []  # the API function never loads numpy or onnxruntime
    assert api["leaked"] == []
    outside = [
        f for f in api["files"] if not f.startswith((str(unpacked), str(lambda_runtime), sys.base_prefix))
    ]
    assert outside == []
    [finished] = lambda_standin.wait_idle()
    assert finished.function_name == WORKER
    assert lambda_standin.stats()["accepted"] == 1  # counts asynchronous (Event) invocations only
    [(event, _context)] = lambda_standin.calls

    worker_env = {**env, "AWS_LAMBDA_FUNCTION_NAME": WORKER}  # app.py warms the worker up at import
    worker = _run_in_bundle(unpacked, lambda_runtime, "worker", event, worker_env)

    assert worker["result"] == {"outcome": "answered", "job_id": "slash:trig.123"}
    assert [item["status"] for item in idempotency_table.items()] == ["COMPLETED"]
    assert "onnxruntime" in worker["heavy"]
    assert worker["leaked"] == []
    [post] = slack_standin.wait_for(1)
    assert post.path == "/response/smoke"
    assert "PAYMENTS" in json.dumps(post.body).upper()
    print(f"bundle smoke: API process {api_seconds:.2f}s", file=sys.stderr)
