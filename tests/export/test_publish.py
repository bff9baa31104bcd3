"""`export publish` against a real S3 API (moto server on 127.0.0.1)."""

from __future__ import annotations

import hashlib
import json
import socket
from pathlib import Path
from typing import Any

import pytest

from chalicelib.model.manifest import MANIFEST_NAME, parse_manifest
from export.errors import UserError
from export.publish import publish
from tests.support.s3 import publish_cli, record_puts, write_model


def objects(client: Any, bucket: str) -> dict[str, bytes]:
    listing = client.list_objects_v2(Bucket=bucket).get("Contents", [])
    return {item["Key"]: client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read() for item in listing}


def test_publishes_version_then_pointer(s3_bucket: tuple[Any, str], tmp_path: Path) -> None:
    client, bucket = s3_bucket
    puts = record_puts(client)

    pointer_uri = publish(write_model(tmp_path / "out", "v1"), f"s3://{bucket}/models/", client)

    assert pointer_uri == f"s3://{bucket}/models/manifest.json"
    assert puts == [
        "models/versions/v1/model.onnx",
        "models/versions/v1/manifest.json",
        "models/manifest.json",
    ]
    stored = objects(client, bucket)
    assert set(stored) == set(puts)
    pointer = parse_manifest(stored["models/manifest.json"])
    assert pointer.model_path == "versions/v1/model.onnx"
    assert hashlib.sha256(stored[f"models/{pointer.model_path}"]).hexdigest() == pointer.sha256
    assert parse_manifest(stored["models/versions/v1/manifest.json"]).model_path == "model.onnx"
    assert pointer.extra["metrics"] == {"accuracy": 0.9}
    assert pointer.extra["publish"] == {
        "forced": False,
        "gate": "first",
        "passed": True,
        "reason": "nothing is published yet: nothing to compare with",
        "max_drop": 0.01,
        "compared_with": None,
        "questions": 0,
    }
    head = client.head_object(Bucket=bucket, Key="models/manifest.json")
    assert head["ContentType"] == "application/json"


def test_empty_prefix_publishes_at_bucket_root(s3_bucket: tuple[Any, str], tmp_path: Path) -> None:
    client, bucket = s3_bucket

    assert publish(write_model(tmp_path, "v1"), f"s3://{bucket}", client) == f"s3://{bucket}/manifest.json"
    assert set(objects(client, bucket)) == {
        "versions/v1/model.onnx",
        "versions/v1/manifest.json",
        MANIFEST_NAME,
    }


def test_republishing_a_version_only_moves_the_pointer(s3_bucket: tuple[Any, str], tmp_path: Path) -> None:
    client, bucket = s3_bucket
    dest = f"s3://{bucket}/m"
    publish(write_model(tmp_path / "v1", "v1"), dest, client)
    publish(write_model(tmp_path / "v2", "v2", b"second"), dest, client)
    puts = record_puts(client)

    publish(tmp_path / "v1", dest, client)  # roll back

    assert puts == ["m/manifest.json"]
    pointer = json.loads(objects(client, bucket)["m/manifest.json"])
    assert (pointer["version"], pointer["model_path"]) == ("v1", "versions/v1/model.onnx")


def test_refuses_to_overwrite_a_version_with_another_model(
    s3_bucket: tuple[Any, str], tmp_path: Path
) -> None:
    client, bucket = s3_bucket
    dest = f"s3://{bucket}/m"
    publish(write_model(tmp_path / "a", "v1", b"first"), dest, client)
    before = objects(client, bucket)

    with pytest.raises(UserError, match="immutable"):
        publish(write_model(tmp_path / "b", "v1", b"other"), dest, client)

    assert objects(client, bucket) == before


def test_dry_run_checks_but_uploads_nothing(
    s3_bucket: tuple[Any, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    client, bucket = s3_bucket
    write_model(tmp_path / "out", "v1")
    args = publish_cli(["publish", str(tmp_path / "out"), f"s3://{bucket}/m", "--dry-run"])

    assert args.func(args) == 0

    assert objects(client, bucket) == {}
    assert f"s3://{bucket}/m/manifest.json" in capsys.readouterr().out


def test_run_prints_where_it_went(
    s3_bucket: tuple[Any, str], s3_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, bucket = s3_bucket
    write_model(tmp_path / "out", "v1")
    args = publish_cli(["publish", str(tmp_path / "out"), f"s3://{bucket}/m", "--endpoint-url", s3_server])

    assert args.func(args) == 0

    out = capsys.readouterr().out
    assert f"s3://{bucket}/m/versions/v1/model.onnx" in out
    assert f"pointer: s3://{bucket}/m/manifest.json" in out


def test_help_shows_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        publish_cli(["publish", "--help"])
    assert "python -m export publish out/model s3://" in capsys.readouterr().out


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def break_manifest(folder: Path, **changes: Any) -> None:
    data = json.loads((folder / MANIFEST_NAME).read_text())
    (folder / MANIFEST_NAME).write_text(json.dumps({**data, **changes}))


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("dest-not-s3", "bad DEST"),
        ("dest-no-bucket", "bad DEST"),
        (
            "dest-bad-bucket",
            "bad DEST: invalid bucket name 'Acme_Models' in s3://Acme_Models/m; S3 bucket names",
        ),
        ("no-folder", "no manifest.json"),
        ("invalid-manifest", "invalid manifest"),
        ("unsafe-version", "cannot name an S3 folder"),
        ("model-missing", "is missing"),
        ("model-size", "bytes but its manifest says"),
        ("model-sha", "does not match its manifest"),
        ("bucket-missing", "bucket does not exist"),
        ("endpoint-down", "cannot reach S3"),
        ("no-credentials", "AWS_PROFILE"),
    ],
)
def test_bad_input_is_one_line_user_error(
    case: str,
    message: str,
    s3_bucket: tuple[Any, str],
    s3_server: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, bucket = s3_bucket
    folder = write_model(tmp_path / "out", "v1")
    dest, endpoint = f"s3://{bucket}/m", s3_server
    match case:
        case "dest-not-s3":
            dest = "/srv/models"
        case "dest-no-bucket":
            dest = "s3:///models"
        case "dest-bad-bucket":
            dest = "s3://Acme_Models/m"
        case "no-folder":
            folder = tmp_path / "absent"
        case "invalid-manifest":
            break_manifest(folder, labels=["only-one"])
        case "unsafe-version":
            break_manifest(folder, version="2024/05")
        case "model-missing":
            (folder / "model.onnx").unlink()
        case "model-size":
            (folder / "model.onnx").write_bytes(b"other length")
        case "model-sha":
            (folder / "model.onnx").write_bytes(b"not really onnx, version v2")
        case "bucket-missing":
            dest = "s3://whoknows-absent/m"
        case "endpoint-down":
            endpoint = f"http://127.0.0.1:{closed_port()}"
        case "no-credentials":
            for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
                monkeypatch.delenv(name)
            monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    args = publish_cli(["publish", str(folder), dest, "--endpoint-url", endpoint])

    with pytest.raises(UserError, match=message) as raised:
        args.func(args)

    assert "\n" not in str(raised.value)
    assert "testing" not in str(raised.value)  # never echoes a secret


def test_main_exits_2_with_one_line(
    s3_bucket: tuple[Any, str], s3_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for other in ("export.collect", "export.train", "export.ask"):
        pytest.importorskip(other, reason="python -m export needs every command module")
    from export.__main__ import main

    folder = write_model(tmp_path / "out", "v1")

    code = main(["publish", str(folder), "s3://whoknows-absent/m", "--endpoint-url", s3_server])

    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: bucket does not exist") and err.count("\n") == 1
    assert "Traceback" not in err
