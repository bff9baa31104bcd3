"""One moto server on 127.0.0.1 for every AWS service the tests use (S3, DynamoDB), and the
environment that points boto3 at it with dummy credentials, so no test can reach real AWS or pick up
a developer's profile. Production code builds its clients as it does on Lambda; only the standard
AWS_ENDPOINT_URL_<SERVICE> variables differ."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from moto.server import ThreadedMotoServer

REGION = "us-east-1"


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """Yields the endpoint URL; port 0 lets the OS pick a free port without a race."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def fake_aws_env(nowhere: Path, **endpoints: str) -> dict[str, str]:
    """Dummy credentials, no profile or config file, and `AWS_ENDPOINT_URL_<SERVICE>` per endpoint
    (e.g. `S3=url`). For subprocesses too, which is why it is a dict and not a fixture."""
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": str(nowhere),
        "AWS_SHARED_CREDENTIALS_FILE": str(nowhere),
    }
    env.update({f"AWS_ENDPOINT_URL_{service.upper()}": url for service, url in endpoints.items()})
    return env


def apply_fake_aws_env(monkeypatch: pytest.MonkeyPatch, nowhere: Path, **endpoints: str) -> None:
    """`fake_aws_env` into os.environ for this test (and nothing inherited that could reach AWS)."""
    for name, value in fake_aws_env(nowhere, **endpoints).items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
