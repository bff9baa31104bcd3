"""Settings: defaults, every invalid variable reported at once, secrets lazily from SSM, never shown."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from chalicelib.api.dispatch import LambdaDispatcher
from chalicelib.api.runtime import Runtime
from chalicelib.aws import LazySession
from chalicelib.config import (
    DEFAULT_TEAM_DIRECTORIES,
    ConfigError,
    SecretUnavailable,
    load_settings,
    load_signing_secret,
    parse_settings,
    parse_signing_secret,
    reset_settings,
)
from tests.support.aws import apply_fake_aws_env

MINIMAL = {
    "SLACK_SIGNING_SECRET": "s3cr3t-value",
    "SLACK_BOT_TOKEN": "xoxb-secret-token",
    "MODEL_URI": "s3://bucket/models",
    "WORKER_FUNCTION_NAME": "whoknows-dev-worker",
}


def test_defaults() -> None:
    settings = parse_settings(MINIMAL)

    assert settings.dispatch_mode == "lambda"
    assert settings.model_cache_dir == Path("/tmp/whoknows-models")
    assert settings.model_refresh_seconds == 300
    assert settings.confidence_threshold is None  # the model's own threshold applies
    assert settings.trigger_word == "who"
    assert settings.response_url_hosts == frozenset({"hooks.slack.com"})
    assert settings.slack_api_base_url is None
    assert settings.team_directory == next(p for p in DEFAULT_TEAM_DIRECTORIES if p.is_file())


def test_every_problem_is_listed_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(
            {
                "CONFIDENCE_THRESHOLD": "1.5",
                "MODEL_REFRESH_SECONDS": "soon",
                "DISPATCH_MODE": "carrier-pigeon",
                "RESPONSE_URL_EXTRA_HOSTS": "127.0.0.1:8000,no-port",
                "TRIGGER_WORD": "who knows",
                "SLACK_API_BASE_URL": "ftp://x",
                "TEAM_DIRECTORY": "/nonexistent/teams.json",
            }
        )

    problems = " | ".join(caught.value.problems)
    for name in (
        "SLACK_SIGNING_SECRET",
        "SLACK_BOT_TOKEN",
        "MODEL_URI",
        "CONFIDENCE_THRESHOLD",
        "MODEL_REFRESH_SECONDS",
        "DISPATCH_MODE",
        "WORKER_FUNCTION_NAME",
        "RESPONSE_URL_EXTRA_HOSTS",
        "TRIGGER_WORD",
        "SLACK_API_BASE_URL",
        "TEAM_DIRECTORY",
    ):
        assert name in problems
    assert "no-port" in problems


def test_local_mode_needs_no_worker_name_and_widens_response_hosts(tmp_path: Path) -> None:
    env = {**MINIMAL, "DISPATCH_MODE": "local", "RESPONSE_URL_EXTRA_HOSTS": " 127.0.0.1:9000 , localhost:1 "}
    del env["WORKER_FUNCTION_NAME"]

    settings = parse_settings(
        {**env, "SLACK_API_BASE_URL": "http://127.0.0.1:9000/api", "MODEL_URI": str(tmp_path)}
    )

    assert settings.response_url_hosts == {"hooks.slack.com", "127.0.0.1:9000", "localhost:1"}
    assert settings.slack_api_base_url == "http://127.0.0.1:9000/api/"


def test_a_secret_given_twice_is_refused() -> None:
    with pytest.raises(ConfigError, match="set only one of SLACK_BOT_TOKEN and SLACK_BOT_TOKEN_PARAM"):
        parse_settings({**MINIMAL, "SLACK_BOT_TOKEN_PARAM": "/whoknows/bot-token"})


def test_secrets_are_never_shown() -> None:
    settings = parse_settings(MINIMAL)

    shown = repr(settings) + str(settings.signing_secret) + repr(settings.bot_token)
    assert "s3cr3t-value" not in shown and "xoxb-secret-token" not in shown
    assert settings.signing_secret.get() == "s3cr3t-value"


def test_ssm_parameters_are_read_once_at_first_use() -> None:
    calls: list[str] = []

    def fetch(name: str) -> str:
        calls.append(name)
        return f"value-of-{name}"

    env = {**MINIMAL, "SLACK_SIGNING_SECRET_PARAM": "/wk/signing", "SLACK_BOT_TOKEN_PARAM": "/wk/bot"}
    del env["SLACK_SIGNING_SECRET"], env["SLACK_BOT_TOKEN"]
    settings = parse_settings(env, fetch_parameter=fetch)

    assert calls == []
    assert settings.signing_secret.get() == "value-of-/wk/signing"
    assert settings.signing_secret.get() == "value-of-/wk/signing"
    assert calls == ["/wk/signing"]


def test_ssm_failure_names_the_parameter_not_the_cause_details() -> None:
    def fetch(name: str) -> str:
        raise RuntimeError("AccessDenied for role xyz")

    env = {**MINIMAL, "SLACK_BOT_TOKEN_PARAM": "/wk/bot"}
    del env["SLACK_BOT_TOKEN"]
    settings = parse_settings(env, fetch_parameter=fetch)

    with pytest.raises(SecretUnavailable, match="/wk/bot"):
        settings.bot_token.get()


def test_ssm_parameter_is_fetched_with_decryption_through_the_shared_session(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, moto_server: str
) -> None:
    import botocore.session

    apply_fake_aws_env(monkeypatch, tmp_path / "absent", SSM=moto_server)
    LazySession().client("ssm").put_parameter(Name="/wk/signing", Value="from-ssm", Type="SecureString")
    made: list[botocore.session.Session] = []

    class CountedSession(botocore.session.Session):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(botocore.session, "Session", CountedSession)
    env = {**MINIMAL, "SLACK_SIGNING_SECRET_PARAM": "/wk/signing", "DISPATCH_MODE": "lambda"}
    env["WORKER_FUNCTION_NAME"] = "whoknows-test-worker"
    del env["SLACK_SIGNING_SECRET"]
    settings = parse_settings(env)

    assert settings.signing_secret.get() == "from-ssm"
    # The API function's other client, the Lambda one, is built from the same session's set-up.
    dispatcher = Runtime.from_settings(settings).dispatcher
    assert isinstance(dispatcher, LambdaDispatcher)
    dispatcher.connect()
    assert dispatcher.connected and len(made) == 1  # the SSM and Lambda clients share one session
    parse_settings(env).aws.client("ssm")
    assert len(made) == 2  # one session per container's settings


def test_load_settings_is_cached_until_reset(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in MINIMAL.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("CONFIDENCE_THRESHOLD", "0.7")
    reset_settings()
    try:
        first = load_settings()
        monkeypatch.setenv("CONFIDENCE_THRESHOLD", "0.2")
        assert load_settings() is first
        reset_settings()
        assert load_settings().confidence_threshold == 0.2
    finally:
        reset_settings()


def test_the_signing_secret_is_read_even_when_other_settings_are_broken() -> None:
    """So a request can be verified before anyone is told that the deployment is broken."""
    broken = {"SLACK_SIGNING_SECRET": " s3cr3t-value ", "CONFIDENCE_THRESHOLD": "lots"}
    with pytest.raises(ConfigError):
        parse_settings(broken)

    assert parse_signing_secret(broken).get() == "s3cr3t-value"
    fetched = parse_signing_secret({"SLACK_SIGNING_SECRET_PARAM": "/wk/signing"}, fetch_parameter=str.upper)
    assert fetched.get() == "/WK/SIGNING"


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({}, "SLACK_SIGNING_SECRET (or SLACK_SIGNING_SECRET_PARAM, an SSM parameter name) is required"),
        (
            {"SLACK_SIGNING_SECRET": "a", "SLACK_SIGNING_SECRET_PARAM": "/b"},
            "set only one of SLACK_SIGNING_SECRET and SLACK_SIGNING_SECRET_PARAM",
        ),
    ],
)
def test_a_missing_or_doubled_signing_secret_is_a_config_error(env: dict[str, str], problem: str) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_signing_secret(env)
    assert refused.value.problems == [problem]


def test_load_signing_secret_is_cached_until_reset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SLACK_SIGNING_SECRET_PARAM", raising=False)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "first")
    reset_settings()
    try:
        first = load_signing_secret()
        monkeypatch.setenv("SLACK_SIGNING_SECRET", "second")
        assert load_signing_secret() is first
        reset_settings()
        assert load_signing_secret().get() == "second"
    finally:
        reset_settings()
