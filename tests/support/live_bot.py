"""The whole bot in one process, as a user meets it: the routes through chalice.test.Client, jobs run
by the worker's code on local dispatch with a real exported model, answers posted by slack_sdk's
clients to the Slack stand-in, which counts them.

`live_bot` is the per-test fixture, `feedback_bot` the same with a published model and the feedback
table; `LiveBot.start` builds one for a whole module (the corpus test).
A "new container" forgets the API function's memory and the worker (its in-memory idempotency
ledger and its model), as a cold Lambda container would.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client

from export.sample import SAMPLE_TEAMS
from tests.support.serving import apply_env, base_env, signed
from tests.support.slack_standin import SlackStandIn

JOB_TIMEOUT_SECONDS = 30.0


def live_env(tmp_path: Path, model_dir: Path, slack: SlackStandIn, **overrides: str) -> dict[str, str]:
    return base_env(
        tmp_path,
        MODEL_URI=str(model_dir),
        TEAM_DIRECTORY=str(SAMPLE_TEAMS),
        RESPONSE_URL_EXTRA_HOSTS=slack.host,
        SLACK_API_BASE_URL=slack.api_url,
        **overrides,
    )


def published_feedback_env(
    tmp_path: Path, s3_bucket: tuple[Any, str], table: str, model_dir: Path, slack: SlackStandIn
) -> dict[str, str]:
    """`model_dir` published to the moto bucket as the bot reads it, with feedback stored in `table`
    questions included: the learning loop's settings."""
    from export.publish import publish

    client, bucket = s3_bucket
    publish(model_dir, f"s3://{bucket}/models", client)
    return base_env(
        tmp_path,
        MODEL_URI=f"s3://{bucket}/models",
        TEAM_DIRECTORY=str(SAMPLE_TEAMS),
        RESPONSE_URL_EXTRA_HOSTS=slack.host,
        SLACK_API_BASE_URL=slack.api_url,
        FEEDBACK_TABLE=table,
        STORE_FEEDBACK_QUESTIONS="true",
    )


class LiveBot:
    def __init__(self, client: Client, slack: SlackStandIn) -> None:
        self.client = client
        self.slack = slack

    @classmethod
    @contextlib.contextmanager
    def start(
        cls, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], slack: SlackStandIn
    ) -> Iterator[LiveBot]:
        from app import app

        apply_env(monkeypatch, env)
        try:
            with Client(app) as client:
                yield cls(client, slack)
        finally:
            cls.new_container()

    def post(self, path: str, body: bytes, content_type: str, **headers: str) -> Any:
        """Sends `body` signed as Slack signs it, then waits until every job it started is over."""
        response = self.client.http.post(path, headers=signed(body, content_type, **headers), body=body)
        self.settle()
        return response

    @staticmethod
    def settle() -> None:
        from chalicelib.api.runtime import get_runtime

        with contextlib.suppress(Exception):  # a misconfigured bot has no runtime, hence no jobs
            get_runtime().dispatcher.join(timeout=JOB_TIMEOUT_SECONDS)  # type: ignore[attr-defined]

    @staticmethod
    def new_container() -> None:
        """What a cold container starts from: no event memory, no worker, no in-memory ledger."""
        from chalicelib.api import runtime as api_runtime
        from chalicelib.worker import handler

        api_runtime.reset()
        handler.reset_worker()

    def answers(self) -> list[Any]:
        """Every post Slack accepted: response_url posts and chat.postMessage calls."""
        return self.slack.accepted


@pytest.fixture
def live_bot(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sample_model_dir: Path, slack_standin: SlackStandIn
) -> Iterator[LiveBot]:
    with LiveBot.start(
        monkeypatch, live_env(tmp_path, sample_model_dir, slack_standin), slack_standin
    ) as bot:
        yield bot


@pytest.fixture
def feedback_bot(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    s3_bucket: tuple[Any, str],
    feedback_table: Any,
    slack_standin: SlackStandIn,
    sample_model_dir: Path,
) -> Iterator[dict[str, Any]]:
    """The bot in local mode with the sample model published to moto and feedback (questions kept)
    stored in the moto feedback table: the routes' client, the stand-in, the table, the settings."""
    env = published_feedback_env(tmp_path, s3_bucket, feedback_table.name, sample_model_dir, slack_standin)
    with LiveBot.start(monkeypatch, env, slack_standin) as live:
        yield {"client": live.client, "slack": slack_standin, "table": feedback_table, "env": env}
