"""Handing jobs over: the async Lambda invoke call (with a fake client, and with boto3 over real
HTTP to the Lambda stand-in) and the local thread runner."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from chalicelib.api.dispatch import DispatchFailed, LambdaDispatcher, LocalDispatcher
from chalicelib.api.runtime import Runtime
from chalicelib.config import parse_settings
from chalicelib.jobs import Job
from scripts.local_server import free_port
from tests.support.aws import apply_fake_aws_env
from tests.support.lambda_standin import TEST_WORKER, LambdaStandIn, RecordingLambdaStandIn
from tests.support.serving import slash_job


class _LambdaClient:
    """Stands in for boto3's Lambda client (no AWS here): records invoke calls."""

    def __init__(self, status: int = 202, error: Exception | None = None) -> None:
        self.calls: list[dict[str, Any]] = []
        self.status, self.error = status, error

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        if self.error:
            raise self.error
        return {"StatusCode": self.status}


def test_lambda_dispatcher_invokes_asynchronously() -> None:
    client = _LambdaClient()

    LambdaDispatcher("whoknows-dev-worker", client).dispatch(slash_job())

    [call] = client.calls
    assert call["FunctionName"] == "whoknows-dev-worker"
    assert call["InvocationType"] == "Event"
    assert json.loads(call["Payload"]) == slash_job().to_dict()


@pytest.mark.parametrize("client", [_LambdaClient(status=500), _LambdaClient(error=ConnectionError("down"))])
def test_lambda_dispatch_failures_are_one_line_without_the_payload(client: _LambdaClient) -> None:
    with pytest.raises(DispatchFailed) as caught:
        LambdaDispatcher("fn", client).dispatch(slash_job())

    assert "secret" not in str(caught.value)


def test_an_error_code_without_a_botocore_class_is_named_in_the_message() -> None:
    error = Exception("throttled")
    error.response = {"Error": {"Code": "TooManyRequestsException", "Message": "Rate exceeded"}}

    with pytest.raises(DispatchFailed) as caught:
        LambdaDispatcher("fn", _LambdaClient(error=error)).dispatch(slash_job())

    assert str(caught.value) == "invoking fn failed: Exception TooManyRequestsException"


def test_local_dispatcher_returns_before_the_job_finishes() -> None:
    release, seen = threading.Event(), []

    def handler(payload: dict[str, Any]) -> None:
        release.wait(5)
        seen.append(payload)

    dispatcher = LocalDispatcher(handler)
    dispatcher.dispatch(slash_job())
    assert seen == []
    release.set()
    dispatcher.join()
    assert seen == [slash_job().to_dict()]


def test_local_dispatcher_runs_every_job_when_there_are_more_jobs_than_threads() -> None:
    release, seen = threading.Event(), []

    def handler(payload: dict[str, Any]) -> None:
        release.wait(5)
        seen.append(payload["job_id"])

    dispatcher = LocalDispatcher(handler, workers=2)
    jobs = [
        Job.for_slash_command(
            question="q", user_id="U1", response_url="https://hooks.slack.com/x", trigger_id=f"t{i}"
        )
        for i in range(12)
    ]
    for job in jobs:
        dispatcher.dispatch(job)  # returns at once although both threads are blocked
    assert seen == []
    release.set()
    dispatcher.join()
    assert sorted(seen) == sorted(job.job_id for job in jobs)


def test_local_dispatcher_survives_a_failing_job() -> None:
    seen: list[str] = []

    def handler(payload: dict[str, Any]) -> None:
        if payload["job_id"] == "slash:t.1":
            raise RuntimeError("boom")
        seen.append(payload["job_id"])

    dispatcher = LocalDispatcher(handler, workers=1)
    dispatcher.dispatch(slash_job())
    dispatcher.dispatch(slash_job("t.2"))  # the same (only) thread runs the next job
    dispatcher.join()
    assert seen == ["slash:t.2"]


# --- LambdaDispatcher over real HTTP: boto3 against the Lambda stand-in (tests/support) --------


def test_lambda_dispatcher_hands_the_job_over_http_and_the_worker_runs_it(
    recording_lambda: RecordingLambdaStandIn,
) -> None:
    LambdaDispatcher(TEST_WORKER).dispatch(slash_job())

    [finished] = recording_lambda.wait_idle()
    assert finished.error is None and finished.attempts == 1
    [(event, context)] = recording_lambda.calls
    assert event == slash_job().to_dict()
    assert context.function_name == TEST_WORKER and context.aws_request_id
    assert recording_lambda.stats()["accepted"] == 1


def test_the_function_name_comes_from_configuration(
    recording_lambda: RecordingLambdaStandIn, tmp_path: Path
) -> None:
    env = {
        "SLACK_SIGNING_SECRET": "s" * 20,
        "SLACK_BOT_TOKEN": "xoxb-1",
        "MODEL_URI": str(tmp_path),
        "WORKER_FUNCTION_NAME": TEST_WORKER,
    }
    runtime = Runtime.from_settings(parse_settings(env))
    assert isinstance(runtime.dispatcher, LambdaDispatcher)
    runtime.dispatcher.dispatch(slash_job())
    assert len(recording_lambda.wait_idle()) == 1

    other = Runtime.from_settings(parse_settings({**env, "WORKER_FUNCTION_NAME": "whoknows-prod-worker"}))
    with pytest.raises(
        DispatchFailed, match="invoking whoknows-prod-worker failed: ResourceNotFoundException"
    ):
        other.dispatcher.dispatch(slash_job())


def test_lambda_stand_in_down_is_a_one_line_dispatch_failure(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    apply_fake_aws_env(monkeypatch, tmp_path / "absent")
    monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", f"http://127.0.0.1:{free_port()}")

    started = time.monotonic()
    with pytest.raises(DispatchFailed) as caught:
        LambdaDispatcher(TEST_WORKER).dispatch(slash_job())

    message = str(caught.value)
    assert message == f"invoking {TEST_WORKER} failed: EndpointConnectionError"
    assert "\n" not in message and "secret" not in message
    assert (
        time.monotonic() - started < 5
    )  # connect timeout 1 s, two attempts: the ack stays inside Slack's 3 s


def test_oversized_async_payload_is_refused_as_lambda_does(recording_lambda: RecordingLambdaStandIn) -> None:
    job = Job.for_slash_command(
        question="x" * (300 * 1024),
        user_id="U1",
        response_url="https://hooks.slack.com/x",
        trigger_id="t.big",
    )
    with pytest.raises(DispatchFailed, match="RequestTooLargeException"):
        LambdaDispatcher(TEST_WORKER).dispatch(job)
    assert recording_lambda.stats()["accepted"] == 0


def test_stand_in_retries_a_failing_async_invocation_twice_then_dead_letters_it() -> None:
    attempts: list[str] = []

    def flaky(event: Any, context: Any) -> None:
        attempts.append(context.aws_request_id)
        if event["fail_times"] >= len(attempts):
            raise RuntimeError("worker crashed")

    with LambdaStandIn({"fn": flaky}, retry_delays=(0.01, 0.01)) as standin:
        standin.invoke_async("fn", {"fail_times": 1})
        [recovered] = standin.wait_idle()
        assert recovered.error is None and recovered.attempts == 2
        assert len(set(attempts)) == 1  # a retry keeps the request id, as on Lambda

        attempts.clear()
        standin.invoke_async("fn", {"fail_times": 5})
        lost = standin.wait_idle()[-1]
        assert lost.attempts == 3 and lost.error == "RuntimeError: worker crashed"
        assert standin.stats() == {
            "accepted": 2,
            "succeeded": 1,
            "retried": 3,
            "dead_lettered": 1,
            "pending": 0,
        }


@pytest.mark.slow
def test_stand_in_runs_handlers_in_worker_processes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # "module:attribute" handlers run in a separate process (bench.load runs app:worker this way);
    # operator.is_not(event, context) is True: proof it was called there with both arguments.
    with LambdaStandIn({"fn": "operator:is_not", "fails": "operator:add"}, processes=1) as standin:
        apply_fake_aws_env(monkeypatch, tmp_path / "absent")
        import boto3

        client = boto3.client("lambda", endpoint_url=standin.url)
        ok = client.invoke(FunctionName="fn", Payload=b"{}")
        assert ok["StatusCode"] == 200 and json.loads(ok["Payload"].read()) is True
        failed = client.invoke(FunctionName="fails", Payload=b"{}")
        assert failed["FunctionError"] == "Unhandled"
        assert json.loads(failed["Payload"].read())["errorType"] == "TypeError"
        assert client.invoke(FunctionName="fn", InvocationType="Event", Payload=b"{}")["StatusCode"] == 202
        assert [finished.error for finished in standin.wait_idle(timeout=30)] == [None]
