"""One botocore session per container, made at the first client; boto3 is never needed."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from chalicelib.aws_session import SERVICES, LazySession
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


def test_sessions_know_our_services_without_listing_botocores_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    import botocore

    apply_fake_aws_env(monkeypatch, tmp_path / "nowhere")
    data_folder = os.path.join(os.path.dirname(botocore.__file__), "data")
    listed: list[str] = []
    real_listdir = os.listdir

    def recording_listdir(path: str = ".") -> list[str]:
        listed.append(os.path.normpath(str(path)))
        return real_listdir(path)

    monkeypatch.setattr(os, "listdir", recording_listdir)
    session = LazySession()
    clients = [session.client(service) for service in SERVICES]

    assert [client.meta.service_model.service_name for client in clients] == list(SERVICES)
    assert clients[0]._loader.list_available_services("service-2") == list(SERVICES)
    assert data_folder not in listed  # only the folders of our four services were read
    assert {os.path.dirname(path) for path in listed} <= {data_folder}


def test_a_service_we_do_not_use_is_refused_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.exceptions import UnknownServiceError

    apply_fake_aws_env(monkeypatch, tmp_path / "nowhere")
    with pytest.raises(UnknownServiceError, match=r"'sts'.*dynamodb, lambda, s3, ssm"):
        LazySession().client("sts")
