"""One boto3 session per worker, made at the first client."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from chalicelib.aws_session import LazySession
from tests.support.aws import apply_fake_aws_env


def test_boto3_is_imported_at_the_first_client_not_before() -> None:
    # A fresh interpreter: this one imported boto3 long ago.
    code = (
        "import sys\n"
        "from chalicelib.aws_session import LazySession\n"
        "session = LazySession()\n"
        "assert 'boto3' not in sys.modules and 'botocore' not in sys.modules, 'imported early'\n"
        "session.client('s3', region_name='us-east-1')\n"
        "assert 'boto3' in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_clients_share_one_session_and_sessions_do_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    apply_fake_aws_env(monkeypatch, tmp_path / "nowhere")
    session = LazySession()
    with ThreadPoolExecutor(4) as pool:  # boto3 sessions are not thread-safe; LazySession is
        clients = list(pool.map(lambda service: session.client(service), ["s3", "dynamodb"] * 4))
    assert len({id(client._loader) for client in clients}) == 1
    assert LazySession().client("s3")._loader is not clients[0]._loader
