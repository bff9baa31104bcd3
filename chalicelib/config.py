"""Settings, read once from the environment into one frozen, validated object.

`load_settings()` is cached for the life of the container; `reset_settings()` lets tests change the
environment between cases. Every problem is reported at once (ConfigError.problems), so an operator
fixes the whole deployment in one go instead of one variable per redeploy.

Secrets come from the environment (SLACK_SIGNING_SECRET, SLACK_BOT_TOKEN) or, as an option, from SSM
parameter names (SLACK_SIGNING_SECRET_PARAM, SLACK_BOT_TOKEN_PARAM), fetched with decryption at first
use only. They never appear in repr(), logs or error messages. Standard library only at import time:
the API function imports this module and botocore is loaded only when an SSM parameter is read.
Each Settings carries the container's one botocore session (`aws`, made at its first client), so the
SSM, Lambda, S3 and DynamoDB clients do not each pay for a session's set-up.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from chalicelib.aws import LazySession
from chalicelib.model.manifest import DEFAULT_CONFIDENCE_THRESHOLD
from chalicelib.slack.urls import SLACK_RESPONSE_HOSTS

DEFAULT_CACHE_DIR = "/tmp/whoknows-models"
"""Lambda's only writable place (MODEL_CACHE_DIR); a later container on the same host finds the
model it left there."""
DEFAULT_REFRESH_SECONDS = 300.0
DEFAULT_TRIGGER_WORD = "who"
DEFAULT_IDEMPOTENCY_EXPIRY_SECONDS = 3600  # as long as Lambda keeps retrying an async event (max age)
DEFAULT_FEEDBACK_RETENTION_DAYS = 365
"""How long a feedback record is kept (DynamoDB TTL); the deploy template's FeedbackRetentionDays."""
_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off", "")
_REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TEAM_DIRECTORIES = (
    Path(__file__).resolve().parent / "teams.json",  # deployed with the bundle, if someone adds one
    _REPO_ROOT / "export" / "sample" / "teams.json",  # the repo's sample directory (local mode, demo)
)
# Every variable the bot reads: tests and benchmarks clear them all before setting their own.
SETTING_NAMES = (
    "SLACK_SIGNING_SECRET",
    "SLACK_SIGNING_SECRET_PARAM",
    "SLACK_BOT_TOKEN",
    "SLACK_BOT_TOKEN_PARAM",
    "MODEL_URI",
    "MODEL_CACHE_DIR",
    "MODEL_REFRESH_SECONDS",
    "CONFIDENCE_THRESHOLD",
    "TRIGGER_WORD",
    "TEAM_DIRECTORY",
    "DISPATCH_MODE",
    "WORKER_FUNCTION_NAME",
    "RESPONSE_URL_EXTRA_HOSTS",
    "SLACK_API_BASE_URL",
    "IDEMPOTENCY_TABLE",
    "IDEMPOTENCY_EXPIRY_SECONDS",
    "FEEDBACK_TABLE",
    "FEEDBACK_RETENTION_DAYS",
    "STORE_FEEDBACK_QUESTIONS",
    "SHOW_SIMILAR_TICKETS",
    "JIRA_BASE_URL",
)
_HOST_PORT = re.compile(r"[A-Za-z0-9.-]+:[0-9]{1,5}")
_TRIGGER = re.compile(r"[\w'-]+")
DYNAMODB_TABLE = re.compile(r"[A-Za-z0-9_.-]{3,255}")
"""A DynamoDB table's name, as AWS allows it."""


class ConfigError(Exception):
    """The environment cannot run the bot; `problems` names every bad or missing variable."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid configuration: " + "; ".join(problems))
        self.problems = problems


class SecretUnavailable(Exception):
    """A secret named by an SSM parameter could not be read; the message names the parameter only."""


class Secret:
    """A secret given directly or as an SSM parameter name, resolved once, at first use.

    repr() never shows the value, so logging a Settings object cannot leak it.
    """

    def __init__(
        self,
        name: str,
        value: str | None = None,
        parameter: str | None = None,
        fetch: Callable[[str], str] | None = None,
    ) -> None:
        if (value is None) == (parameter is None):
            raise ValueError("give exactly one of value or parameter")
        self.name = name
        self.parameter = parameter
        self._value = value
        self._fetch = fetch or _ssm_get_parameter
        self._lock = threading.Lock()

    def get(self) -> str:
        with self._lock:
            if self._value is None:
                assert self.parameter is not None
                try:
                    value = self._fetch(self.parameter)
                except Exception as error:
                    raise SecretUnavailable(
                        f"cannot read {self.name} from SSM parameter {self.parameter!r}: "
                        f"{type(error).__name__}"
                    ) from None
                if not value:
                    raise SecretUnavailable(f"SSM parameter {self.parameter!r} for {self.name} is empty")
                self._value = value
            return self._value

    def __repr__(self) -> str:
        where = f"ssm:{self.parameter}" if self.parameter else "env"
        return f"Secret({self.name}, from {where})"


def _ssm_get_parameter(name: str, session: LazySession | None = None) -> str:
    # botocore logs every response body at DEBUG, and this one holds the decrypted secret: its
    # parser logger never goes below INFO here, whatever level the operator turns on.
    parser_log = logging.getLogger("botocore.parsers")
    if parser_log.getEffectiveLevel() < logging.INFO:
        parser_log.setLevel(logging.INFO)
    client = (session or LazySession()).client("ssm")
    return client.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]


@dataclass(frozen=True)
class Settings:
    signing_secret: Secret = field(repr=False, compare=False)
    bot_token: Secret = field(repr=False, compare=False)
    model_uri: str
    model_cache_dir: Path
    model_refresh_seconds: float
    confidence_threshold: float | None
    """CONFIDENCE_THRESHOLD when set: it overrides the threshold the model was trained with."""
    trigger_word: str
    team_directory: Path | None
    """None: no directory file; answers show bare labels."""
    dispatch_mode: Literal["lambda", "local"]
    worker_function_name: str | None
    response_url_extra_hosts: frozenset[str]
    slack_api_base_url: str | None
    idempotency_table: str | None = None
    """DynamoDB table that makes each job answered once across containers; None: per container."""
    idempotency_expiry_seconds: int = DEFAULT_IDEMPOTENCY_EXPIRY_SECONDS
    feedback_table: str | None = None
    """DynamoDB table the worker stores feedback in; None: kept in the container's memory only."""
    feedback_retention_days: int = DEFAULT_FEEDBACK_RETENTION_DAYS
    store_feedback_questions: bool = False
    """Whether a feedback record keeps the question as Slack sent it (off: verdicts and ids only)."""
    show_similar_tickets: bool = True
    """Whether answers show the past tickets most like the question (when the model ships an index)."""
    jira_base_url: str | None = None
    """Where ticket keys link to (`<url>/browse/KEY`) when the index recorded no link of its own."""
    aws: LazySession = field(default_factory=LazySession, repr=False, compare=False)
    """The container's one botocore session: SSM, Lambda, S3 and DynamoDB clients share its set-up."""

    @property
    def response_url_hosts(self) -> frozenset[str]:
        """Hosts a response_url may target: Slack's, plus host:port entries for local stand-ins."""
        return SLACK_RESPONSE_HOSTS | self.response_url_extra_hosts


def _secret(
    env: Mapping[str, str], name: str, fetch: Callable[[str], str], problems: list[str]
) -> Secret | None:
    """`name` from the environment or the SSM parameter named by `name`_PARAM; None (with the
    problem appended) when neither or both are set."""
    value, parameter = env.get(name) or None, env.get(f"{name}_PARAM") or None
    if value and parameter:
        problems.append(f"set only one of {name} and {name}_PARAM")
        return None
    if not (value or parameter):
        problems.append(f"{name} (or {name}_PARAM, an SSM parameter name) is required")
        return None
    return Secret(name, value=value, parameter=parameter, fetch=fetch)


def parse_signing_secret(
    environ: Mapping[str, str], fetch_parameter: Callable[[str], str] | None = None
) -> Secret:
    """Only the signing secret, whatever the other settings say: a request can then be verified
    before anyone learns that the rest of the configuration is broken. Raises ConfigError."""
    problems: list[str] = []
    env = {key: value.strip() for key, value in environ.items()}
    fetch = fetch_parameter or functools.partial(_ssm_get_parameter, session=LazySession())
    secret = _secret(env, "SLACK_SIGNING_SECRET", fetch, problems)
    if secret is None:
        raise ConfigError(problems)
    return secret


def parse_settings(
    environ: Mapping[str, str], fetch_parameter: Callable[[str], str] | None = None
) -> Settings:
    """Validates `environ`; raises ConfigError listing every problem found."""
    problems: list[str] = []
    env = {key: value.strip() for key, value in environ.items()}
    aws = LazySession()
    fetch: Callable[[str], str] = fetch_parameter or functools.partial(_ssm_get_parameter, session=aws)

    def number(name: str, default: float, low: float, high: float | None) -> float:
        raw = env.get(name) or None
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            problems.append(f"{name} must be a number, got {raw!r}")
            return default
        if value != value or value < low or (high is not None and value > high):
            upper = f" and {high:g}" if high is not None else ""
            problems.append(
                f"{name} must be between {low:g}{upper}, got {raw!r}"
                if upper
                else f"{name} must be at least {low:g}, got {raw!r}"
            )
            return default
        return value

    signing_secret = _secret(env, "SLACK_SIGNING_SECRET", fetch, problems)
    bot_token = _secret(env, "SLACK_BOT_TOKEN", fetch, problems)

    model_uri = env.get("MODEL_URI", "")
    if not model_uri:
        problems.append("MODEL_URI is required (s3://bucket/prefix or a local folder)")
    elif "://" in model_uri and not model_uri.startswith(("s3://", "file://")):
        problems.append(f"MODEL_URI must be s3://bucket/prefix, file:///dir or a path, got {model_uri!r}")
    elif model_uri.startswith("s3://") and not model_uri[len("s3://") :].split("/")[0]:
        problems.append(f"MODEL_URI has no bucket: {model_uri!r}")

    refresh = number("MODEL_REFRESH_SECONDS", DEFAULT_REFRESH_SECONDS, 0, None)
    threshold = (
        number("CONFIDENCE_THRESHOLD", DEFAULT_CONFIDENCE_THRESHOLD, 0, 1)
        if env.get("CONFIDENCE_THRESHOLD")
        else None
    )

    trigger = env.get("TRIGGER_WORD") or DEFAULT_TRIGGER_WORD
    if not _TRIGGER.fullmatch(trigger):
        problems.append(f"TRIGGER_WORD must be a single word, got {trigger!r}")

    team_directory: Path | None
    if env.get("TEAM_DIRECTORY"):
        team_directory = Path(env["TEAM_DIRECTORY"])
        if not team_directory.is_file():
            problems.append(f"TEAM_DIRECTORY {str(team_directory)!r} is not a file")
    else:
        team_directory = next((path for path in DEFAULT_TEAM_DIRECTORIES if path.is_file()), None)

    mode = (env.get("DISPATCH_MODE") or "lambda").lower()
    if mode not in ("lambda", "local"):
        problems.append(f"DISPATCH_MODE must be 'lambda' or 'local', got {mode!r}")
        mode = "lambda"
    worker_name = env.get("WORKER_FUNCTION_NAME") or None
    if mode == "lambda" and worker_name is None:
        problems.append("WORKER_FUNCTION_NAME is required when DISPATCH_MODE is 'lambda'")

    extra_hosts = frozenset(
        host.strip() for host in env.get("RESPONSE_URL_EXTRA_HOSTS", "").split(",") if host.strip()
    )
    bad_hosts = sorted(host for host in extra_hosts if not _HOST_PORT.fullmatch(host))
    if bad_hosts:
        problems.append(f"RESPONSE_URL_EXTRA_HOSTS entries must be host:port, got {', '.join(bad_hosts)}")

    api_base = env.get("SLACK_API_BASE_URL") or None
    if api_base is not None:
        parts = urlsplit(api_base)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            problems.append(f"SLACK_API_BASE_URL must be an http(s) URL, got {api_base!r}")
        elif not api_base.endswith("/"):
            api_base += "/"  # slack_sdk appends the method name directly

    def table(name: str) -> str | None:
        value = env.get(name) or None
        if value is not None and not DYNAMODB_TABLE.fullmatch(value):
            problems.append(
                f"{name} must be a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -), got {value!r}"
            )
        return value

    def whole(name: str, default: int, unit: str) -> int:
        raw = env.get(name) or None
        if raw is None:
            return default
        if not re.fullmatch(r"[0-9]{1,9}", raw) or int(raw) < 1:
            problems.append(f"{name} must be a whole number of {unit} >= 1, got {raw!r}")
            return default
        return int(raw)

    idempotency_table = table("IDEMPOTENCY_TABLE")
    idempotency_expiry = whole("IDEMPOTENCY_EXPIRY_SECONDS", DEFAULT_IDEMPOTENCY_EXPIRY_SECONDS, "seconds")
    feedback_table = table("FEEDBACK_TABLE")
    retention_days = whole("FEEDBACK_RETENTION_DAYS", DEFAULT_FEEDBACK_RETENTION_DAYS, "days")
    store_questions_raw = env.get("STORE_FEEDBACK_QUESTIONS", "").lower()
    if store_questions_raw not in _TRUE + _FALSE:
        problems.append(
            f"STORE_FEEDBACK_QUESTIONS must be true or false, got {env['STORE_FEEDBACK_QUESTIONS']!r}"
        )

    show_similar_raw = env.get("SHOW_SIMILAR_TICKETS", "true").lower()
    if show_similar_raw not in _TRUE + _FALSE:
        problems.append(f"SHOW_SIMILAR_TICKETS must be true or false, got {env['SHOW_SIMILAR_TICKETS']!r}")
    jira_url = env.get("JIRA_BASE_URL") or None
    if jira_url is not None:
        parts = urlsplit(jira_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            problems.append(f"JIRA_BASE_URL must be the Jira site's http(s) address, got {jira_url!r}")
        jira_url = jira_url.rstrip("/")

    if problems:
        raise ConfigError(problems)
    assert signing_secret is not None and bot_token is not None
    return Settings(
        signing_secret=signing_secret,
        bot_token=bot_token,
        model_uri=model_uri,
        model_cache_dir=Path(env.get("MODEL_CACHE_DIR") or DEFAULT_CACHE_DIR),
        model_refresh_seconds=refresh,
        confidence_threshold=threshold,
        trigger_word=trigger,
        team_directory=team_directory,
        dispatch_mode=mode,  # type: ignore[arg-type]
        worker_function_name=worker_name,
        response_url_extra_hosts=extra_hosts,
        slack_api_base_url=api_base,
        idempotency_table=idempotency_table,
        idempotency_expiry_seconds=idempotency_expiry,
        feedback_table=feedback_table,
        feedback_retention_days=retention_days,
        store_feedback_questions=store_questions_raw in _TRUE,
        show_similar_tickets=show_similar_raw in _TRUE,
        jira_base_url=jira_url,
        aws=aws,
    )


_lock = threading.Lock()


@functools.cache
def _cached() -> Settings:
    return parse_settings(os.environ)


def load_settings() -> Settings:
    """The process-wide settings, parsed at first call; raises ConfigError (not cached) when invalid."""
    with _lock:
        return _cached()


@functools.cache
def _cached_signing_secret() -> Secret:
    return parse_signing_secret(os.environ)


def load_signing_secret() -> Secret:
    """The signing secret alone, for when `load_settings()` raises: cached like the settings (an
    SSM parameter is read once it can be), raises ConfigError (not cached) when it is not set."""
    with _lock:
        return _cached_signing_secret()


def reset_settings() -> None:
    """Forget the cached settings (tests change the environment between cases)."""
    with _lock:
        _cached.cache_clear()
        _cached_signing_secret.cache_clear()
