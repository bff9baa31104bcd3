"""A real S3 API on 127.0.0.1 (moto in server mode), so tests use the same boto3 calls as production.

`s3_server` is one server per test session; `s3_bucket` gives each test its own bucket and points
every boto3 client built without an explicit endpoint at the server, with dummy credentials, so no
test can reach real AWS or pick up a developer's profile. `write_model` makes a training output folder.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from chalicelib.manifest import MANIFEST_NAME, Manifest

REGION = "us-east-1"


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """Yields the endpoint URL; port 0 lets the OS pick a free port without a race."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_bucket(
    s3_server: str, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Any, str]:
    """Yields (client, bucket_name) for a fresh bucket on the local server."""
    nowhere = tmp_path_factory.mktemp("aws") / "absent"
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL_S3": s3_server,
        "AWS_CONFIG_FILE": str(nowhere),
        "AWS_SHARED_CREDENTIALS_FILE": str(nowhere),
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    client = boto3.client("s3", endpoint_url=s3_server, region_name=REGION)
    bucket = f"whoknows-test-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    return client, bucket


def write_model(folder: Path, version: str, payload: bytes | None = None) -> Path:
    """A training output folder as `export train` leaves it; the bytes need not be ONNX for the store."""
    payload = payload if payload is not None else f"not really onnx, version {version}".encode()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.onnx").write_bytes(payload)
    manifest = Manifest(
        version=version,
        model_path="model.onnx",
        sha256=hashlib.sha256(payload).hexdigest(),
        size_bytes=len(payload),
        labels=("platform", "search"),
        normalizer_version="1",
        extra={"metrics": {"accuracy": 0.9}},
    )
    (folder / MANIFEST_NAME).write_text(manifest.to_json())
    return folder
