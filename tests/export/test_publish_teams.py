"""`export publish --teams` and `--teams-only` against a real S3 API (moto server on 127.0.0.1): the
team directory is checked against the model's labels, uploaded beside the model under a name that is
its hash, and named with its sha256 in the version's manifest and the pointer."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from chalicelib.model.manifest import MANIFEST_NAME, parse_manifest
from export.errors import UserError
from export.publish import publish, publish_teams
from tests.support.s3 import publish_cli, record_puts, write_model

TEAMS = {"teams": {"platform": {"display_name": "Platform", "channel": "#platform-help"}, "search": {}}}


def read(client: Any, bucket: str, key: str) -> bytes:
    return client.get_object(Bucket=bucket, Key=key)["Body"].read()


def write_teams(path: Path, teams: dict[str, Any] | str = TEAMS) -> Path:
    path.write_text(teams if isinstance(teams, str) else json.dumps(teams))
    return path


def test_the_directory_is_published_beside_the_model_and_named_in_both_manifests(
    s3_bucket: tuple[Any, str], tmp_path: Path
) -> None:
    client, bucket = s3_bucket
    teams = write_teams(tmp_path / "teams.json")
    digest = hashlib.sha256(teams.read_bytes()).hexdigest()
    puts = record_puts(client)

    publish(write_model(tmp_path / "out", "v1"), f"s3://{bucket}/models", client, teams=teams)

    name = f"teams-{digest[:16]}.json"
    assert puts == [
        f"models/versions/v1/{name}",
        "models/versions/v1/model.onnx",
        "models/versions/v1/manifest.json",
        "models/manifest.json",
    ]
    pointer = parse_manifest(read(client, bucket, "models/manifest.json"))
    version = parse_manifest(read(client, bucket, "models/versions/v1/manifest.json"))
    assert pointer.team_directory is not None and version.team_directory is not None
    assert (pointer.team_directory.path, version.team_directory.path) == (f"versions/v1/{name}", name)
    assert (
        pointer.team_directory.sha256 == digest and pointer.team_directory.size_bytes == teams.stat().st_size
    )
    assert read(client, bucket, f"models/{pointer.team_directory.path}") == teams.read_bytes()
    assert pointer.model_path == "versions/v1/model.onnx"


def test_labels_without_entries_are_warnings_and_the_directory_is_still_published(
    s3_bucket: tuple[Any, str], tmp_path: Path
) -> None:
    client, bucket = s3_bucket
    teams = write_teams(tmp_path / "teams.json", {"teams": {"platform": {}, "renamed": {}}})
    said: list[str] = []

    publish(write_model(tmp_path / "out", "v1"), f"s3://{bucket}/m", client, teams=teams, say=said.append)

    warnings = [line for line in said if line.startswith("warning: ")]
    assert len(warnings) == 2
    assert "model label 'search' has no team directory entry" in warnings[0]
    assert "'renamed' is not a label the model predicts" in warnings[1]
    assert parse_manifest(read(client, bucket, "m/manifest.json")).team_directory is not None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "invalid JSON at line 1"),
        ('{"teams": {"platform": {"channel": "platform help"}}}', "channel 'platform help' must be"),
        ('{"teams": {"platform": {"colour": "red"}}}', "unknown field"),
        ('{"teams": []}', "expected a JSON object"),
    ],
)
def test_a_malformed_directory_is_one_line_and_nothing_is_uploaded(
    s3_bucket: tuple[Any, str], tmp_path: Path, content: str, message: str
) -> None:
    client, bucket = s3_bucket
    teams = write_teams(tmp_path / "teams.json", content)
    puts = record_puts(client)

    with pytest.raises(UserError, match=message) as raised:
        publish(write_model(tmp_path / "out", "v1"), f"s3://{bucket}/m", client, teams=teams)

    assert "\n" not in str(raised.value) and str(teams) in str(raised.value)
    assert puts == []


def test_teams_only_gives_the_published_version_a_new_directory_and_keeps_the_old_one(
    s3_bucket: tuple[Any, str], tmp_path: Path
) -> None:
    client, bucket = s3_bucket
    first = write_teams(tmp_path / "a.json")
    publish(write_model(tmp_path / "out", "v1"), f"s3://{bucket}/m", client, teams=first)
    old = parse_manifest(read(client, bucket, "m/manifest.json"))
    second = write_teams(
        tmp_path / "b.json", {"teams": {"platform": {"channel": "#platform-oncall"}, "search": {}}}
    )
    puts = record_puts(client)

    pointer_uri = publish_teams(second, f"s3://{bucket}/m", client)

    new = parse_manifest(read(client, bucket, "m/manifest.json"))
    assert pointer_uri == f"s3://{bucket}/m/manifest.json"
    assert new.team_directory is not None and old.team_directory is not None
    assert new.team_directory.sha256 == hashlib.sha256(second.read_bytes()).hexdigest()
    assert puts == [f"m/{new.team_directory.path}", "m/versions/v1/manifest.json", "m/manifest.json"]
    assert (new.version, new.sha256, new.model_path) == (old.version, old.sha256, old.model_path)
    assert read(client, bucket, f"m/{old.team_directory.path}") == first.read_bytes()  # never overwritten
    version = parse_manifest(read(client, bucket, "m/versions/v1/manifest.json"))
    assert version.team_directory is not None and version.team_directory.sha256 == new.team_directory.sha256


def test_republishing_a_version_without_teams_keeps_its_directory(
    s3_bucket: tuple[Any, str], tmp_path: Path
) -> None:
    client, bucket = s3_bucket
    folder = write_model(tmp_path / "out", "v1")
    publish(folder, f"s3://{bucket}/m", client, teams=write_teams(tmp_path / "teams.json"))
    publish_teams(
        write_teams(tmp_path / "b.json", {"teams": {"platform": {}, "search": {}}}),
        f"s3://{bucket}/m",
        client,
    )
    current = parse_manifest(read(client, bucket, "m/manifest.json"))

    publish(folder, f"s3://{bucket}/m", client)  # a rollback to v1, say

    assert parse_manifest(read(client, bucket, "m/manifest.json")).team_directory == current.team_directory


def test_a_new_model_without_teams_over_one_with_a_directory_is_warned_about(
    s3_bucket: tuple[Any, str], tmp_path: Path
) -> None:
    client, bucket = s3_bucket
    publish(
        write_model(tmp_path / "v1", "v1"), f"s3://{bucket}/m", client, teams=write_teams(tmp_path / "t.json")
    )
    said: list[str] = []

    publish(write_model(tmp_path / "v2", "v2"), f"s3://{bucket}/m", client, say=said.append)

    assert any(line.startswith("warning: the model published now has a team directory") for line in said)
    assert parse_manifest(read(client, bucket, "m/manifest.json")).team_directory is None


def test_dry_run_checks_the_directory_and_uploads_nothing(s3_bucket: tuple[Any, str], tmp_path: Path) -> None:
    client, bucket = s3_bucket
    puts = record_puts(client)

    publish(
        write_model(tmp_path / "out", "v1"),
        f"s3://{bucket}/m",
        client,
        teams=write_teams(tmp_path / "t.json"),
        dry_run=True,
    )

    assert puts == []


def test_the_cli_publishes_teams_only(
    s3_bucket: tuple[Any, str], s3_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    client, bucket = s3_bucket
    publish(write_model(tmp_path / "out", "v1"), f"s3://{bucket}/m", client)
    args = publish_cli(
        [
            "publish",
            f"s3://{bucket}/m",
            "--teams-only",
            "--teams",
            str(write_teams(tmp_path / "t.json")),
            "--endpoint-url",
            s3_server,
        ]
    )

    assert args.func(args) == 0

    out = capsys.readouterr().out
    assert f"team directory for version v1: s3://{bucket}/m/versions/v1/teams-" in out
    assert f"pointer: s3://{bucket}/m/manifest.json" in out
    assert parse_manifest(read(client, bucket, "m/manifest.json")).team_directory is not None


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["out", "s3://b-ok/m", "--teams-only", "--teams", "t.json"], "without MODEL_DIR"),
        (["s3://b-ok/m", "--teams-only"], "give DEST and --teams FILE"),
        (["s3://b-ok/m"], "give MODEL_DIR and DEST"),
        (["out", "s3://b-ok/m", "--teams", "absent.json"], "absent.json does not exist"),
    ],
    ids=["teams-only-with-model", "teams-only-without-file", "no-model-dir", "missing-file"],
)
def test_the_cli_says_in_one_line_what_is_missing(
    argv: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write_model(tmp_path / "out", "v1")
    write_teams(tmp_path / "t.json")
    args = publish_cli(["publish", *argv])

    with pytest.raises(UserError, match=message):
        args.func(args)


def test_teams_only_with_nothing_published_says_so(s3_bucket: tuple[Any, str], tmp_path: Path) -> None:
    client, bucket = s3_bucket

    with pytest.raises(UserError, match=r"nothing is published at .* yet"):
        publish_teams(write_teams(tmp_path / "t.json"), f"s3://{bucket}/m", client)


def test_the_published_manifest_reads_back_with_its_directory(
    s3_bucket: tuple[Any, str], tmp_path: Path
) -> None:
    client, bucket = s3_bucket
    publish(
        write_model(tmp_path / "out", "v1"),
        f"s3://{bucket}/m",
        client,
        teams=write_teams(tmp_path / "t.json"),
    )

    raw = json.loads(read(client, bucket, f"m/{MANIFEST_NAME}"))

    assert set(raw["team_directory"]) == {"path", "sha256", "size_bytes"}
