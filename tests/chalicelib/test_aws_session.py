"""One botocore session per container, made at the first client; boto3 is never needed."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from chalicelib.aws_session import LazySession
from tests.support.aws import apply_fake_aws_env


def test_botocore_is_imported_at_the_first_client_and_boto3_never() -> None:
    # A fresh interpreter: this one imported boto3 long ago.
    code = (
        "import sys\n"
        "from chalicelib.aws_session import LazySession\n"
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
    apply_fake_aws_env(monkeypatch, tmp_path / "nowhere")
    session = LazySession()
    with ThreadPoolExecutor(4) as pool:  # botocore sessions are not thread-safe; LazySession is
        clients = list(pool.map(lambda service: session.client(service), ["s3", "dynamodb"] * 4))
    assert len({id(client._loader) for client in clients}) == 1
    assert LazySession().client("s3")._loader is not clients[0]._loader
