"""ModelStore against a real S3 API (moto server on 127.0.0.1) and against local folders."""

from __future__ import annotations

import hashlib
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from chalicelib.model.errors import ModelCorrupt, ModelNotFound, ModelUnreachable
from chalicelib.model.manifest import MANIFEST_NAME, Manifest
from chalicelib.model.store import ModelStore, translate_s3_error
from export.publish import publish
from tests.support.s3 import write_model


def record_get_objects(client: Any) -> list[tuple[str, str | None, int]]:
    """(key path, If-None-Match sent, HTTP status) of every GetObject the client really made."""
    calls: list[tuple[str, str | None, int]] = []
    pending: list[tuple[str, str | None]] = []

    def before_send(request: Any, **_: Any) -> None:
        pending.append((request.url.split("?")[0], request.headers.get("If-None-Match")))

    def after_call(http_response: Any, **_: Any) -> None:
        calls.append((*pending.pop(), http_response.status_code))

    client.meta.events.register("before-send.s3.GetObject", before_send)
    client.meta.events.register("after-call.s3.GetObject", after_call)
    return calls


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def published(s3_bucket: tuple[Any, str], tmp_path: Path) -> tuple[Any, str]:
    """(client, model URI) with version v1 published."""
    client, bucket = s3_bucket
    uri = f"s3://{bucket}/models"
    publish(write_model(tmp_path / "v1", "v1"), uri, client)
    return client, uri


def test_unchanged_pointer_costs_one_conditional_get(published: tuple[Any, str], tmp_path: Path) -> None:
    client, uri = published
    store = ModelStore(uri, tmp_path / "cache", s3_client=client)
    calls = record_get_objects(client)

    first = store.read_manifest()
    again = store.read_manifest()

    assert first is not None and first.version == "v1"
    assert again is None
    assert [(url.endswith("/models/manifest.json"), status) for url, _, status in calls] == [
        (True, 200),
        (True, 304),
    ]
    assert calls[0][1] is None and calls[1][1]  # the second GET carried the remembered ETag


def test_new_version_is_picked_up(published: tuple[Any, str], tmp_path: Path) -> None:
    client, uri = published
    store = ModelStore(uri, tmp_path / "cache", s3_client=client)
    assert store.read_manifest() is not None

    publish(write_model(tmp_path / "v2", "v2", b"second model"), uri, client)
    manifest = store.read_manifest()

    assert manifest is not None and manifest.version == "v2"
    assert store.fetch_model(manifest).read_bytes() == b"second model"
    assert store.read_manifest() is None


def test_cached_model_is_not_downloaded_again(published: tuple[Any, str], tmp_path: Path) -> None:
    client, uri = published
    cache = tmp_path / "cache"
    store = ModelStore(uri, cache, s3_client=client)
    manifest = store.read_manifest()
    assert manifest is not None
    path = store.fetch_model(manifest)
    calls = record_get_objects(client)

    assert store.fetch_model(manifest) == path  # warm container: remembered as verified
    assert ModelStore(uri, cache, s3_client=client).fetch_model(manifest) == path  # new container
    assert calls == []
    assert path == cache / f"{manifest.sha256}.onnx"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == manifest.sha256


def test_damaged_cache_file_is_replaced(published: tuple[Any, str], tmp_path: Path) -> None:
    client, uri = published
    cache = tmp_path / "cache"
    manifest = ModelStore(uri, cache, s3_client=client).read_manifest()
    assert manifest is not None
    cache.mkdir()
    (cache / f"{manifest.sha256}.onnx").write_bytes(b"truncated")

    path = ModelStore(uri, cache, s3_client=client).fetch_model(manifest)

    assert hashlib.sha256(path.read_bytes()).hexdigest() == manifest.sha256


def point_at_wrong_model(client: Any, bucket: str, payload: bytes, claimed: bytes) -> Manifest:
    """A pointer whose sha/size describe `claimed` while the object holds `payload`."""
    client.put_object(Bucket=bucket, Key="m/model.onnx", Body=payload)
    manifest = Manifest(
        version="bad",
        model_path="model.onnx",
        sha256=hashlib.sha256(claimed).hexdigest(),
        size_bytes=len(claimed),
        labels=("a", "b"),
        normalizer_version="1",
    )
    client.put_object(Bucket=bucket, Key=f"m/{MANIFEST_NAME}", Body=manifest.to_json().encode())
    return manifest


@pytest.mark.parametrize(
    ("payload", "claimed", "message"),
    [
        (b"tampered!", b"original!", "sha256"),
        (b"much longer than claimed", b"short", "larger"),
        (b"short", b"much longer than stored", "bytes"),
    ],
)
def test_mismatched_model_is_corrupt_and_not_cached(
    s3_bucket: tuple[Any, str], tmp_path: Path, payload: bytes, claimed: bytes, message: str
) -> None:
    client, bucket = s3_bucket
    manifest = point_at_wrong_model(client, bucket, payload, claimed)
    cache = tmp_path / "cache"

    with pytest.raises(ModelCorrupt, match=message) as raised:
        ModelStore(f"s3://{bucket}/m", cache, s3_client=client).fetch_model(manifest)

    assert f"s3://{bucket}/m/model.onnx" in str(raised.value)
    assert list(cache.iterdir()) == []  # neither <sha>.onnx nor a leftover .part


def test_invalid_pointer_is_corrupt(s3_bucket: tuple[Any, str], tmp_path: Path) -> None:
    client, bucket = s3_bucket
    client.put_object(Bucket=bucket, Key=MANIFEST_NAME, Body=b"{not json")

    with pytest.raises(ModelCorrupt, match=re.escape(f"s3://{bucket}/manifest.json")):
        ModelStore(f"s3://{bucket}", tmp_path, s3_client=client).read_manifest()


def test_missing_bucket_key_or_model_is_not_found(published: tuple[Any, str], tmp_path: Path) -> None:
    client, uri = published
    bucket = uri.removeprefix("s3://").split("/")[0]

    with pytest.raises(ModelNotFound, match=re.escape("bucket does not exist: s3://whoknows-absent/")):
        ModelStore("s3://whoknows-absent/models", tmp_path, s3_client=client).read_manifest()
    with pytest.raises(ModelNotFound, match=re.escape(f"s3://{bucket}/elsewhere/manifest.json")):
        ModelStore(f"s3://{bucket}/elsewhere", tmp_path, s3_client=client).read_manifest()

    store = ModelStore(uri, tmp_path, s3_client=client)
    manifest = store.read_manifest()
    assert manifest is not None
    client.delete_object(Bucket=bucket, Key=f"models/{manifest.model_path}")
    with pytest.raises(ModelNotFound, match=re.escape(f"{uri}/{manifest.model_path}")):
        store.fetch_model(manifest)


def test_dead_endpoint_is_unreachable_within_seconds(
    s3_bucket: tuple[Any, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", f"http://127.0.0.1:{closed_port()}")
    store = ModelStore("s3://any-bucket/models", tmp_path)  # the client the worker would build
    started = time.monotonic()

    with pytest.raises(ModelUnreachable, match=re.escape("s3://any-bucket/models/manifest.json")):
        store.read_manifest()

    assert time.monotonic() - started < 10


def test_access_denied_reads_as_unreachable() -> None:
    denied = ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "GetObject")

    error = translate_s3_error(denied, "s3://b/k")

    assert isinstance(error, ModelUnreachable)
    assert "s3://b/k" in str(error) and "\n" not in str(error)


@pytest.mark.parametrize("as_uri", [True, False], ids=["file-uri", "plain-path"])
def test_folder_store(tmp_path: Path, as_uri: bool) -> None:
    folder = write_model(tmp_path / "out", "v1")
    store = ModelStore(folder.as_uri() if as_uri else str(folder), tmp_path / "cache")

    manifest = store.read_manifest()
    assert manifest is not None and manifest.version == "v1"
    assert store.read_manifest() is None
    path = store.fetch_model(manifest)
    assert path == tmp_path / "cache" / f"{manifest.sha256}.onnx"

    write_model(folder, "v2", b"retrained in place")
    assert path.read_bytes() == b"not really onnx, version v1"  # the cached copy is not overwritten
    manifest = store.read_manifest()
    assert manifest is not None and manifest.version == "v2"
    assert store.fetch_model(manifest).read_bytes() == b"retrained in place"


def test_folder_store_not_found(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound, match="no model folder"):
        ModelStore(str(tmp_path / "absent"), tmp_path / "cache").read_manifest()

    folder = write_model(tmp_path / "out", "v1")
    store = ModelStore(str(folder), tmp_path / "cache")
    manifest = store.read_manifest()
    assert manifest is not None
    (folder / "model.onnx").unlink()
    with pytest.raises(ModelNotFound, match=re.escape("model.onnx")):
        store.fetch_model(manifest)


def test_cache_keeps_only_the_newest_two_models(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    paths = []
    for version in ("v1", "v2", "v3"):
        store = ModelStore(str(write_model(tmp_path / version, version)), cache)
        manifest = store.read_manifest()
        assert manifest is not None
        paths.append(store.fetch_model(manifest))

    assert sorted(cache.iterdir()) == sorted(paths[1:])


@pytest.mark.parametrize("uri", ["http://example.com/models", "file://host/dir", "s3://"])
def test_unsupported_uri_is_rejected(uri: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="URI"):
        ModelStore(uri, tmp_path)


def test_import_stays_light(tmp_path: Path) -> None:
    """The API function imports chalicelib; boto3 must load only when an s3:// store is built."""
    code = (
        "import sys; from chalicelib.model.store import ModelStore; "
        f"ModelStore({str(tmp_path)!r}, {str(tmp_path / 'cache')!r}); "
        "heavy = {'boto3', 'botocore', 'numpy', 'onnxruntime'} & set(sys.modules); "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[3])
