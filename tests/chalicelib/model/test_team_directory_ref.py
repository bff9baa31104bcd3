"""A manifest's `team_directory` (path, sha256, size): read and written with the manifest, moved with
it under a version folder, and refused when it could point outside the model's location; the store
hands out the directory's bytes only when they match it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from chalicelib.model.errors import ModelCorrupt, ModelNotFound
from chalicelib.model.manifest import MANIFEST_NAME, FileRef, ManifestError, parse_manifest
from chalicelib.model.store import ModelStore
from tests.chalicelib.model.test_manifest import manifest_dict
from tests.support.s3 import write_model

TEAMS = b'{"teams": {"platform": {"channel": "#platform-help"}}}'
REF = {"path": "teams-0123.json", "sha256": hashlib.sha256(TEAMS).hexdigest(), "size_bytes": len(TEAMS)}


def test_the_directory_reads_back_and_moves_under_a_version_folder_with_the_model() -> None:
    manifest = parse_manifest(json.dumps(manifest_dict(team_directory=REF)))

    assert manifest.team_directory == FileRef(REF["path"], REF["sha256"], REF["size_bytes"])
    assert "team_directory" not in manifest.extra
    assert parse_manifest(manifest.to_json()) == manifest
    moved = manifest.under("versions/v1")
    assert (moved.model_path, moved.team_directory.path) == (  # type: ignore[union-attr]
        "versions/v1/model.onnx",
        "versions/v1/teams-0123.json",
    )


def test_a_manifest_without_a_directory_has_none_and_writes_none() -> None:
    manifest = parse_manifest(json.dumps(manifest_dict()))

    assert manifest.team_directory is None and "team_directory" not in manifest.to_dict()


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("teams.json", "must be an object"),
        ({**REF, "path": "../teams.json"}, "relative path inside"),
        ({**REF, "path": "/etc/teams.json"}, "relative path inside"),
        ({**REF, "path": ""}, "relative path inside"),
        ({**REF, "sha256": "abc"}, "64 lowercase hex"),
        ({**REF, "size_bytes": 0}, "size_bytes must be a whole number"),
        ({**REF, "size_bytes": 2 << 20}, "size_bytes must be a whole number"),
        ({**REF, "size_bytes": True}, "size_bytes must be a whole number"),
    ],
)
def test_a_directory_reference_the_worker_cannot_trust_is_refused(ref: Any, message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        parse_manifest(json.dumps(manifest_dict(team_directory=ref)))


def _folder_with_directory(tmp_path: Path, content: bytes) -> Path:
    folder = write_model(tmp_path / "model", "v1")
    manifest = json.loads((folder / MANIFEST_NAME).read_text())
    manifest["team_directory"] = REF
    (folder / MANIFEST_NAME).write_text(json.dumps(manifest))
    (folder / REF["path"]).write_bytes(content)
    return folder


def test_the_store_hands_out_the_directory_only_when_it_matches(tmp_path: Path) -> None:
    good = ModelStore(str(_folder_with_directory(tmp_path / "good", TEAMS)), tmp_path / "cache")
    bad = ModelStore(
        str(_folder_with_directory(tmp_path / "bad", TEAMS.replace(b"help", b"evil"))), tmp_path / "c2"
    )

    manifest = good.read_manifest()
    assert manifest is not None and good.fetch_directory(manifest) == TEAMS
    bad_manifest = bad.read_manifest()
    assert bad_manifest is not None
    with pytest.raises(ModelCorrupt, match=r"team directory at .* manifest says"):
        bad.fetch_directory(bad_manifest)


def test_a_missing_directory_file_is_not_found(tmp_path: Path) -> None:
    folder = _folder_with_directory(tmp_path, TEAMS)
    (folder / REF["path"]).unlink()
    store = ModelStore(str(folder), tmp_path / "cache")
    manifest = store.read_manifest()
    assert manifest is not None

    with pytest.raises(ModelNotFound, match=r"no such file: .*teams-0123\.json"):
        store.fetch_directory(manifest)
