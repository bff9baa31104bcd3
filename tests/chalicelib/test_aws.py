"""One botocore session per container, made at the first client; boto3 is never needed."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from chalicelib.aws import LazySession, error_code, error_status
from tests.support.aws import apply_fake_aws_env


def test_botocore_is_imported_at_the_first_client_and_boto3_never() -> None:
    # A fresh interpreter: this one imported boto3 long ago.
    code = (
        "import sys\n"
        "from chalicelib.aws import LazySession\n"
        "session = LazySession()\n"
        "assert 'boto3' not in sys.modules and 'botocore' not in sys.modules, 'imported early'\n"
        "for service in ('s3', 'dynamodb', 'ssm', 'lambda'):\n"
        "    session.client(service, region_name='us-east-1')\n"
        "assert 'botocore' in sys.modules\n"
        "assert not {'boto3', 's3transfer'} & set(sys.modules), 'boto3 loaded'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_clients_share_one_session_and_sessions_do_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import botocore.session

    apply_fake_aws_env(monkeypatch, tmp_path / "nowhere")
    made: list[botocore.session.Session] = []

    class CountedSession(botocore.session.Session):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(botocore.session, "Session", CountedSession)
    session = LazySession()
    with ThreadPoolExecutor(4) as pool:  # botocore sessions are not thread-safe; LazySession is
        clients = list(pool.map(lambda service: session.client(service), ["s3", "dynamodb"] * 4))
    assert len(made) == 1 and len(clients) == 8
    LazySession().client("s3")
    assert len(made) == 2


def test_error_code_and_status_read_a_client_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.exceptions import ClientError, EndpointConnectionError

    missing = ClientError(
        {"Error": {"Code": "NoSuchKey", "Message": "gone"}, "ResponseMetadata": {"HTTPStatusCode": 404}},
        "GetObject",
    )
    assert (error_code(missing), error_status(missing)) == ("NoSuchKey", 404)
    unchanged = ClientError({"Error": {}, "ResponseMetadata": {"HTTPStatusCode": 304}}, "GetObject")
    assert (error_code(unchanged), error_status(unchanged)) == (None, 304)
    network = EndpointConnectionError(endpoint_url="http://127.0.0.1:9")
    assert (error_code(network), error_status(network)) == (None, None)
    assert error_code(ValueError("not AWS")) is None
