"""The team directory travels with the model: `export publish --teams` on the moto S3 server, the
worker's ModelHolder fetching, verifying and swapping it with the model, answers posted to the Slack
stand-in. Changing a team's channel is a publish (`--teams-only`), not a redeploy; a directory whose
bytes do not match its manifest is never used."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib.api import runtime as api_runtime
from chalicelib.jobs import Job
from chalicelib.worker import handler
from chalicelib.worker.handler import get_worker, run_job
from chalicelib.worker.worker import CORRUPT_MODEL
from export.publish import publish, publish_teams
from export.sample import SAMPLE_TEAMS
from tests.support.serving import apply_env, base_env
from tests.support.slack_standin import SlackStandIn

QUESTION = "why does the nightly export to the warehouse time out?"


@pytest.fixture
def env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, s3_bucket: Any, slack_standin: SlackStandIn
) -> Iterator[dict[str, Any]]:
    client, bucket = s3_bucket
    apply_env(
        monkeypatch,
        base_env(
            tmp_path,
            MODEL_URI=f"s3://{bucket}/models",
            MODEL_REFRESH_SECONDS="0",
            TEAM_DIRECTORY=str(SAMPLE_TEAMS),  # the fallback: #data-help
            RESPONSE_URL_EXTRA_HOSTS=slack_standin.host,
        ),
    )
    yield {"client": client, "bucket": bucket, "dest": f"s3://{bucket}/models", "slack": slack_standin}
    api_runtime.reset()
    handler.reset_worker()


def directory(path: Path, data_channel: str) -> Path:
    """The sample directory with the Data team's channel changed."""
    teams = json.loads(SAMPLE_TEAMS.read_text())
    teams["teams"]["DATA"]["channel"] = data_channel
    path.write_text(json.dumps(teams))
    return path


def ask(env: dict[str, Any], n: int, question: str = QUESTION) -> dict[str, Any]:
    slack: SlackStandIn = env["slack"]
    job = Job.for_slash_command(
        question=question, user_id="U1", response_url=slack.response_url(f"q{n}"), trigger_id=f"t.{n}"
    )
    run_job(job.to_dict())
    return slack.wait_for(n)[-1].body


def test_a_new_channel_is_a_publish_not_a_redeploy(
    env: dict[str, Any], sample_model_dir: Path, tmp_path: Path, json_logs: Any
) -> None:
    publish(sample_model_dir, env["dest"], env["client"], teams=directory(tmp_path / "a.json", "#data-a"))

    first = ask(env, 1)
    predictor = get_worker().holder.get().predictor
    publish_teams(directory(tmp_path / "b.json", "#data-b"), env["dest"], env["client"])
    second = ask(env, 2)

    assert "#data-a" in first["text"] and "#data-help" not in first["text"]  # the published one wins
    assert "#data-b" in second["text"]
    model = get_worker().holder.get()
    assert model.predictor is predictor  # the model was not reopened for a new directory
    [swapped] = json_logs.events("model_swapped")
    assert swapped["previous_version"] == swapped["model_version"]
    assert swapped["team_directory_sha256"] == model.manifest.team_directory.sha256[:12]  # type: ignore[union-attr]
    teams = Job.for_teams(
        word="teams", user_id="U1", response_url=env["slack"].response_url("t"), trigger_id="t.9"
    )
    run_job(teams.to_dict())
    listing = json.dumps(env["slack"].wait_for(3)[-1].body["blocks"])
    assert "#data-b" in listing and "#data-a" not in listing


def test_a_directory_whose_bytes_do_not_match_is_never_used(
    env: dict[str, Any], sample_model_dir: Path, tmp_path: Path, json_logs: Any
) -> None:
    client, bucket = env["client"], env["bucket"]
    publish(sample_model_dir, env["dest"], client, teams=directory(tmp_path / "a.json", "#data-a"))
    assert "#data-a" in ask(env, 1)["text"]
    publish_teams(directory(tmp_path / "b.json", "#data-b"), env["dest"], client)
    pointer = json.loads(client.get_object(Bucket=bucket, Key="models/manifest.json")["Body"].read())
    tampered = directory(tmp_path / "c.json", "#data-evil").read_bytes()
    client.put_object(Bucket=bucket, Key=f"models/{pointer['team_directory']['path']}", Body=tampered)

    warm = ask(env, 2)
    handler.reset_worker()  # a cold container meets the same pointer
    cold = ask(env, 3)

    assert "#data-a" in warm["text"]  # the warm worker keeps the model and directory it had
    assert json_logs.events("model_refresh_failed")[0]["error"].startswith("ModelCorrupt: team directory at")
    assert CORRUPT_MODEL in cold["text"]
    assert "#data-evil" not in json.dumps([warm, cold])


def test_a_model_published_without_a_directory_uses_team_directory(
    env: dict[str, Any], sample_model_dir: Path
) -> None:
    publish(sample_model_dir, env["dest"], env["client"])

    assert "#data-help" in ask(env, 1)["text"]
    assert get_worker().holder.get().directory is None
