"""Helpers for the serving tests: act as Slack (signed requests), record handovers, set the env.

Helpers are imported explicitly; the fixtures (`json_logs`, `dispatcher`, `client`) reach every
test through tests/conftest.py.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from chalicelib.config import SETTING_NAMES
from chalicelib.jobs import Job
from chalicelib.slack.verify import sign_request

SIGNING_SECRET = "test-signing-secret-0123456789abcdef"
BOT_TOKEN = "xoxb-test-token"
BOT_USER = "UBOT0001"


class RecordingDispatcher:
    """Test double of LambdaDispatcher: the async Lambda invoke cannot run here, so this records
    each job (after the same JSON round trip) instead of handing it to a worker."""

    def __init__(self) -> None:
        self.jobs: list[Job] = []
        self.payloads: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def dispatch(self, job: Job) -> None:
        payload = json.loads(json.dumps(job.to_dict()))
        with self._lock:
            self.payloads.append(payload)
            self.jobs.append(Job.from_dict(payload))


def base_env(tmp_path: Any, **overrides: str) -> dict[str, str]:
    env = {
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "MODEL_URI": str(tmp_path / "no-model-here"),
        "MODEL_CACHE_DIR": str(tmp_path / "cache"),
        "DISPATCH_MODE": "local",
    }
    env.update(overrides)
    return env


def apply_env(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    """Replaces every whoknows setting in os.environ by `env`, then forgets cached state."""
    from chalicelib.api import runtime as api_runtime
    from chalicelib.worker import handler

    for name in SETTING_NAMES:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    api_runtime.reset()
    handler.reset_worker()


def signed(body: bytes, content_type: str, secret: str = SIGNING_SECRET, **extra: str) -> dict[str, str]:
    return {"Content-Type": content_type, **sign_request(secret, body, int(time.time())), **extra}


def slash_body(text: str, **fields: str) -> bytes:
    form = {
        "token": "deprecated",
        "team_id": "T0001",
        "channel_id": "C0001",
        "user_id": "U0001",
        "command": "/whoknows",
        "text": text,
        "response_url": "https://hooks.slack.com/commands/T0001/1/abc",
        "trigger_id": "trig.123",
        **fields,
    }
    return urlencode(form).encode()


def slash_job(trigger_id: str | None = "t.1") -> Job:
    """The job a slash command question becomes, with a secret-bearing response_url."""
    return Job.for_slash_command(
        question="who owns refunds?",
        user_id="U1",
        response_url="https://hooks.slack.com/commands/T/1/secret",
        trigger_id=trigger_id,
        request_id="req-1",
    )


def event_body(event: dict[str, Any], event_id: str = "Ev001", **envelope: Any) -> bytes:
    return json.dumps(
        {
            "type": "event_callback",
            "team_id": "T0001",
            "api_app_id": "A0001",
            "event_id": event_id,
            "event_time": 1700000000,
            "authorizations": [{"user_id": BOT_USER, "is_bot": True}],
            "event": event,
            **envelope,
        }
    ).encode()


class JsonLogs:
    """Captures chalicelib's JSON log lines as parsed JSON objects."""

    def __init__(self) -> None:
        import logging

        from chalicelib.logs import JsonFormatter, get_logger

        self.lines: list[dict[str, Any]] = []
        outer = self

        class _Handler(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                outer.lines.append(json.loads(self.format(record)))

        self.handler = _Handler()
        self.handler.setFormatter(JsonFormatter())
        self.root = get_logger("chalicelib")

    def events(self, name: str) -> list[dict[str, Any]]:
        return [line for line in self.lines if line["event"] == name]

    def text(self) -> str:
        return "\n".join(json.dumps(line) for line in self.lines)


def capture_json_logs() -> Any:
    """Generator behind the `json_logs` fixture, for callers that need it outside one."""
    logs = JsonLogs()
    logs.root.addHandler(logs.handler)
    try:
        yield logs
    finally:
        logs.root.removeHandler(logs.handler)


@pytest.fixture(autouse=True)
def no_model_load_outlives_its_test() -> Any:
    """A worker starts its first model load on a thread (ModelHolder.start_loading). A test that built
    a worker without asking for its model waits for it here, so it cannot log into other tests."""
    from chalicelib.model.holder import LOAD_THREAD

    yield
    for thread in threading.enumerate():
        if thread.name.startswith(LOAD_THREAD):
            thread.join(30)


@pytest.fixture
def json_logs() -> Any:
    """chalicelib's JSON log lines during the test, parsed."""
    yield from capture_json_logs()


@pytest.fixture
def dispatcher(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> RecordingDispatcher:
    """The test environment's settings, with jobs recorded instead of run (and fresh event memory)."""
    from chalicelib.api import runtime as api_runtime
    from chalicelib.api.events import InMemorySeenEvents

    apply_env(monkeypatch, base_env(tmp_path))
    recorder = RecordingDispatcher()
    api_runtime.reset(dispatcher=recorder, seen=InMemorySeenEvents())
    return recorder


@pytest.fixture
def client() -> Any:
    """chalice.test.Client on the app; request `dispatcher` too to record handovers."""
    from chalice.test import Client

    from app import app

    with Client(app) as test_client:
        yield test_client


def _write_variant(dest: Path, manifest_data: dict[str, Any], version: str, payload: bytes) -> Path:
    """Writes `payload` as dest/model.onnx with the manifest updated to match it."""
    from chalicelib.model.manifest import MANIFEST_NAME

    dest.mkdir(parents=True, exist_ok=True)
    (dest / "model.onnx").write_bytes(payload)
    data = {
        **manifest_data,
        "version": version,
        "model_path": "model.onnx",
        "sha256": hashlib.sha256(payload).hexdigest(),
        "size_bytes": len(payload),
    }
    (dest / MANIFEST_NAME).write_text(json.dumps(data))
    return dest


def model_variant(source: Any, dest: Any, version: str) -> Any:
    """A copy of a trained model folder as another version: same graph, new metadata, so new bytes
    and sha256 (what a retrain produces, minus the ten seconds of training)."""
    import onnx

    from chalicelib.model.manifest import MANIFEST_NAME, parse_manifest
    from chalicelib.model.predictor import VERSION_KEY

    source = Path(source)
    manifest = parse_manifest((source / MANIFEST_NAME).read_bytes())
    model = onnx.load(str(source / manifest.model_path))
    if manifest.ticket_index is not None:  # the index travels with the model it was built for
        Path(dest).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / manifest.ticket_index.path, Path(dest) / manifest.ticket_index.path)
    entries = {entry.key: entry for entry in model.metadata_props}
    if VERSION_KEY in entries:
        entries[VERSION_KEY].value = version
    else:
        onnx.helper.set_model_props(model, {**{k: e.value for k, e in entries.items()}, VERSION_KEY: version})
    return _write_variant(Path(dest), manifest.to_dict(), version, model.SerializeToString())


def broken_variant(source: Any, dest: Any, version: str, payload: bytes = b"not an onnx model") -> Any:
    """A folder whose manifest is valid and matches its bytes, but the bytes are not a model."""
    from chalicelib.model.manifest import MANIFEST_NAME

    manifest_data = json.loads((Path(source) / MANIFEST_NAME).read_text())
    manifest_data.pop("ticket_index", None)  # not a model: nothing to index for it
    return _write_variant(Path(dest), manifest_data, version, payload)
