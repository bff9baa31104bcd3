"""Jobs as JSON: what a job carries, deterministic job ids (so a redelivered request is the same
job), and payloads refused by name."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.jobs import UNKNOWN_TEAM, InvalidJob, Job
from tests.support.serving import slash_job


def _feedback(trigger_id: str | None = "1234.5678.abcdef", action_ts: str | None = "1700.2") -> Job:
    return Job.for_feedback(
        verdict="wrong",
        question_id="slash:t.1",
        suggested_team="PAYMENTS",
        user_id="U1",
        response_url="https://hooks.slack.com/actions/T/1/secret",
        trigger_id=trigger_id,
        action_ts=action_ts,
        team_id="T1",
        request_id="req-2",
    )


def _correction(team: str = "DATA") -> Job:
    return Job.for_feedback(
        verdict="corrected",
        question_id="slash:t.1",
        suggested_team="PAYMENTS",
        corrected_team=team,
        model_version="v7",
        user_id="U1",
        response_url="https://hooks.slack.com/actions/T/2/secret",
        trigger_id="1234.5678.select",
        team_id="T1",
        channel_id="C1",
    )


def _teams(trigger_id: str | None = "t.2") -> Job:
    return Job.for_teams(
        word="teams",
        user_id="U1",
        response_url="https://hooks.slack.com/commands/T/3/secret",
        trigger_id=trigger_id,
        team_id="T1",
    )


def test_job_round_trips_through_json() -> None:
    job = slash_job()
    message = Job.for_message(
        question="who?", user_id="U1", channel="D1", ts="1.2", thread_ts="1.2", team_id="T1"
    )

    for original in (job, message, _feedback(), _correction(), _correction(UNKNOWN_TEAM), _teams()):
        assert Job.from_dict(json.loads(json.dumps(original.to_dict()))) == original


def test_a_teams_job_is_one_per_invocation_like_a_question() -> None:
    assert _teams().job_id == "teams:t.2"
    assert _teams(None).job_id == _teams(None).job_id and "secret" not in _teams(None).job_id
    assert (_teams().kind, _teams().question) == ("teams", "teams")


def test_a_payload_from_an_older_api_function_still_makes_a_job() -> None:
    """Fields added since (model_version, corrected_team, question_text) are absent: None."""
    payload = _feedback().to_dict()
    for name in ("model_version", "corrected_team", "question_text"):
        del payload[name]

    assert Job.from_dict(payload) == _feedback()


def test_a_correction_carries_the_picked_team_and_the_answer_it_corrects() -> None:
    payload = _correction().to_dict()

    assert (payload["verdict"], payload["corrected_team"], payload["suggested_team"]) == (
        "corrected",
        "DATA",
        "PAYMENTS",
    )
    assert (payload["question"], payload["model_version"], payload["channel"]) == ("slash:t.1", "v7", "C1")
    assert payload["format"] == 1


def test_job_ids_are_derived_from_the_slack_request() -> None:
    assert slash_job().job_id == "slash:t.1"
    assert slash_job(None).job_id == slash_job(None).job_id
    assert "secret" not in slash_job(None).job_id
    first = Job.for_message(question="a", user_id="U1", channel="D1", ts="1.2", thread_ts="1.2", team_id="T1")
    again = Job.for_message(question="a", user_id="U1", channel="D1", ts="1.2", thread_ts="0.9", team_id="T1")
    assert first.job_id == again.job_id == "message:T1:D1:1.2"


def test_a_feedback_job_id_is_the_click_so_a_redelivered_click_is_the_same_job() -> None:
    assert _feedback().job_id == "feedback:1234.5678.abcdef"
    assert _feedback(trigger_id=None).job_id == "feedback:T1:1700.2"
    no_ids = _feedback(trigger_id=None, action_ts=None)
    assert no_ids.job_id == _feedback(trigger_id=None, action_ts=None).job_id
    assert no_ids.job_id.startswith("feedback:") and "secret" not in no_ids.job_id


def test_a_feedback_job_carries_what_the_confirmation_needs() -> None:
    payload = _feedback().to_dict()

    assert payload["format"] == 1  # a new kind, not a new format: old workers keep answering the others
    assert (payload["kind"], payload["verdict"], payload["suggested_team"]) == (
        "feedback",
        "wrong",
        "PAYMENTS",
    )
    assert payload["question"] == "slash:t.1"  # the answered question's id
    # What a worker older than the kind checks before the kind: all present, so it refuses by kind.
    assert all(
        isinstance(payload[name], str) and payload[name] for name in ("job_id", "kind", "question", "user_id")
    )


def test_an_unknown_kind_is_refused_by_name() -> None:
    payload = {**_feedback().to_dict(), "kind": "poll"}

    with pytest.raises(
        InvalidJob, match=r"unknown job kind 'poll' \(this worker handles slash, event, feedback"
    ):
        Job.from_dict(payload)


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
        {"format": 1, "job_id": "x", "kind": "feedback", "question": "q", "user_id": "U"},
        {**_feedback().to_dict(), "response_url": None},
        {**_feedback().to_dict(), "verdict": "maybe"},
        {**_feedback().to_dict(), "verdict": None},
        {**_feedback().to_dict(), "suggested_team": ""},
        {**_feedback().to_dict(), "suggested_team": ["PAYMENTS"]},
        {**_feedback().to_dict(), "corrected_team": "DATA"},
        {**_correction().to_dict(), "corrected_team": None},
        {**_correction().to_dict(), "corrected_team": ""},
        {**_correction().to_dict(), "model_version": 7},
        {**_teams().to_dict(), "response_url": None},
    ],
)
def test_invalid_payloads_are_refused(payload: Any) -> None:
    with pytest.raises(InvalidJob):
        Job.from_dict(payload)


def test_printing_a_job_never_shows_its_response_url() -> None:
    job = slash_job()
    assert job.response_url is not None and job.response_url not in repr(job)
