"""A real S3 API on 127.0.0.1 (the session's moto server), so tests use the same boto3 calls as production.

`s3_server` is the moto server of tests/support/aws.py (one per session, serving every service);
`s3_bucket` gives each test its own bucket and points every boto3 client built without an explicit
endpoint at the server, with dummy credentials. `write_model` makes a training output folder.
"""

from __future__ import annotations

import argparse
import hashlib
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest

from chalicelib.model.manifest import MANIFEST_NAME, Manifest
from tests.support.aws import REGION, apply_fake_aws_env


@pytest.fixture(scope="session")
def s3_server(moto_server: str) -> str:
    """The endpoint URL of the session's moto server."""
    return moto_server


@pytest.fixture
def s3_bucket(
    s3_server: str, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Any, str]:
    """Yields (client, bucket_name) for a fresh bucket on the local server."""
    apply_fake_aws_env(monkeypatch, tmp_path_factory.mktemp("aws") / "absent", s3=s3_server)
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


def publish_cli(argv: list[str]) -> argparse.Namespace:
    """Parses like `python -m export` would, without importing the other commands."""
    from export.publish import register

    parser = argparse.ArgumentParser(prog="python -m export")
    register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def record_puts(client: Any) -> list[str]:
    """The keys of every PutObject `client` makes from now on, in order."""
    keys: list[str] = []
    client.meta.events.register(
        "before-parameter-build.s3.PutObject", lambda params, **_: keys.append(params["Key"])
    )
    return keys
