"""Jobs as JSON, deterministic job ids, the async Lambda invoke call and the local thread runner."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from chalicelib.dispatch import DispatchFailed, InvalidJob, Job, LambdaDispatcher, LocalDispatcher


def _slash(trigger_id: str | None = "t.1") -> Job:
    return Job.for_slash_command(
        question="who owns refunds?",
        user_id="U1",
        response_url="https://hooks.slack.com/commands/T/1/secret",
        trigger_id=trigger_id,
        request_id="req-1",
    )


def test_job_round_trips_through_json() -> None:
    job = _slash()
    message = Job.for_message(
        question="who?", user_id="U1", channel="D1", ts="1.2", thread_ts="1.2", team_id="T1"
    )

    for original in (job, message):
        assert Job.from_dict(json.loads(json.dumps(original.to_dict()))) == original


def test_job_ids_are_derived_from_the_slack_request() -> None:
    assert _slash().job_id == "slash:t.1"
    assert _slash(None).job_id == _slash(None).job_id
    assert "secret" not in _slash(None).job_id
    first = Job.for_message(question="a", user_id="U1", channel="D1", ts="1.2", thread_ts="1.2", team_id="T1")
    again = Job.for_message(question="a", user_id="U1", channel="D1", ts="1.2", thread_ts="0.9", team_id="T1")
    assert first.job_id == again.job_id == "message:T1:D1:1.2"


@pytest.mark.parametrize(
    "payload",
    [
        None,
        [],
        {"format": 2},
        {"format": 1, "job_id": "x", "kind": "fax", "question": "q", "user_id": "U"},
        {"format": 1, "job_id": "x", "kind": "slash", "question": "q", "user_id": "U"},
        {"format": 1, "job_id": "x", "kind": "event", "question": "q", "user_id": "U", "channel": "C"},
        {"format": 1, "job_id": 3, "kind": "slash", "question": "q", "user_id": "U"},
    ],
)
def test_invalid_payloads_are_refused(payload: Any) -> None:
    with pytest.raises(InvalidJob):
        Job.from_dict(payload)


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

    LambdaDispatcher("whoknows-dev-worker", client).dispatch(_slash())

    [call] = client.calls
    assert call["FunctionName"] == "whoknows-dev-worker"
    assert call["InvocationType"] == "Event"
    assert json.loads(call["Payload"]) == _slash().to_dict()


@pytest.mark.parametrize("client", [_LambdaClient(status=500), _LambdaClient(error=ConnectionError("down"))])
def test_lambda_dispatch_failures_are_one_line_without_the_payload(client: _LambdaClient) -> None:
    with pytest.raises(DispatchFailed) as caught:
        LambdaDispatcher("fn", client).dispatch(_slash())

    assert "secret" not in str(caught.value)


def test_local_dispatcher_returns_before_the_job_finishes() -> None:
    release, seen = threading.Event(), []

    def handler(payload: dict[str, Any]) -> None:
        release.wait(5)
        seen.append(payload)

    dispatcher = LocalDispatcher(handler)
    dispatcher.dispatch(_slash())
    assert seen == []
    release.set()
    dispatcher.join()
    assert seen == [_slash().to_dict()]


def test_local_dispatcher_survives_a_failing_job() -> None:
    def handler(payload: dict[str, Any]) -> None:
        raise RuntimeError("boom")

    dispatcher = LocalDispatcher(handler)
    dispatcher.dispatch(_slash())
    dispatcher.join()
