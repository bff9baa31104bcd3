"""chalicelib.model.manifest: a manifest survives to_json -> parse_manifest with its extra fields,
every value the worker cannot trust is refused with a ManifestError naming the field, and
file_sha256 is the file's real sha256."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from chalicelib.model.manifest import MANIFEST_FORMAT, Manifest, ManifestError, file_sha256, parse_manifest

MODEL_SHA = hashlib.sha256(b"a stand-in for model.onnx").hexdigest()


def manifest_dict(**changes: Any) -> dict[str, Any]:
    """A valid manifest as JSON data; `changes` replace fields (a value of ... removes the field)."""
    data: dict[str, Any] = {
        "format": MANIFEST_FORMAT,
        "version": "20240506-070809-abcdef12",
        "model_path": "model.onnx",
        "sha256": MODEL_SHA,
        "size_bytes": 48_213,
        "labels": ["DATA", "IDENTITY", "PAYMENTS"],
        "normalizer_version": "1",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not ...}


def sample_manifest() -> Manifest:
    return Manifest(
        version="20240506-070809-abcdef12",
        model_path="versions/20240506/model.onnx",
        sha256=MODEL_SHA,
        size_bytes=48_213,
        labels=("DATA", "IDENTITY", "PAYMENTS"),
        normalizer_version="1",
        extra={
            "created": "2024-05-06T07:08:09+00:00",
            "metrics": {"top1_accuracy": 0.8123, "per_team": {"DATA": {"support": 12}}},
            "parity": {"passed": True, "max_probability_difference": 1.9e-07},
            "graph": "compact",
            "notes": ["trained on the sample", None],
        },
    )


def test_to_json_then_parse_gives_the_same_manifest_and_extra() -> None:
    original = sample_manifest()
    parsed = parse_manifest(original.to_json())
    assert parsed == original
    assert parsed.extra == original.extra
    assert parsed.labels == ("DATA", "IDENTITY", "PAYMENTS")
    assert parsed.to_json() == original.to_json()


def test_to_json_writes_the_format_number_and_ends_with_a_newline() -> None:
    text = sample_manifest().to_json()
    assert text.endswith("}\n")
    data = json.loads(text)
    assert data["format"] == MANIFEST_FORMAT
    assert data["labels"] == ["DATA", "IDENTITY", "PAYMENTS"]
    assert data["metrics"]["per_team"]["DATA"]["support"] == 12


def test_unknown_fields_are_kept_verbatim_in_extra() -> None:
    extra = {"libraries": {"onnxruntime": "1.19.2"}, "training_data": {"tickets": 906}, "future": [1, "two"]}
    parsed = parse_manifest(json.dumps(manifest_dict(**extra)))
    assert parsed.extra == extra
    assert parsed.version == "20240506-070809-abcdef12"
    assert parsed.size_bytes == 48_213


def test_parse_accepts_bytes_and_str_alike() -> None:
    text = json.dumps(manifest_dict())
    from_bytes, from_str = parse_manifest(text.encode()), parse_manifest(text)
    assert from_bytes == from_str
    assert from_bytes.model_path == "model.onnx"


def test_with_model_path_changes_only_the_path() -> None:
    original = sample_manifest()
    moved = original.with_model_path("model.onnx")
    assert moved.model_path == "model.onnx"
    assert original.model_path == "versions/20240506/model.onnx"
    assert (moved.version, moved.sha256, moved.size_bytes, moved.labels, moved.normalizer_version) == (
        original.version,
        original.sha256,
        original.size_bytes,
        original.labels,
        original.normalizer_version,
    )
    assert moved.extra == original.extra
    assert moved.to_dict() == {**original.to_dict(), "model_path": "model.onnx"}


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        pytest.param(b"{not json", "not valid JSON", id="not-json"),
        pytest.param(b"\xff\xfe\xfd", "not valid JSON", id="not-utf8"),
        pytest.param("", "not valid JSON", id="empty"),
        pytest.param("[1, 2]", "JSON object", id="array"),
        pytest.param('"model.onnx"', "JSON object", id="string"),
        pytest.param("null", "JSON object", id="null"),
    ],
)
def test_what_is_not_a_json_object_is_refused(raw: bytes | str, named: str) -> None:
    with pytest.raises(ManifestError, match=named):
        parse_manifest(raw)


@pytest.mark.parametrize("value", [2, 0, "1", None, ...], ids=["2", "0", "string-1", "null", "missing"])
def test_an_unknown_format_number_is_refused(value: Any) -> None:
    with pytest.raises(ManifestError, match="format"):
        parse_manifest(json.dumps(manifest_dict(format=value)))


def test_a_boolean_format_is_refused() -> None:
    with pytest.raises(ManifestError, match="format"):
        parse_manifest(json.dumps(manifest_dict(format=True)))


@pytest.mark.parametrize("field", ["version", "model_path", "sha256", "normalizer_version"])
@pytest.mark.parametrize(
    "value", ["", None, 7, ["model.onnx"], ...], ids=["empty", "null", "int", "list", "missing"]
)
def test_required_strings_must_be_present_and_non_empty(field: str, value: Any) -> None:
    with pytest.raises(ManifestError, match=f"'{field}' must be a non-empty string"):
        parse_manifest(json.dumps(manifest_dict(**{field: value})))


@pytest.mark.parametrize(
    "value",
    [MODEL_SHA.upper(), MODEL_SHA[:-1], MODEL_SHA + "0", MODEL_SHA[:-1] + "g", "sha256:" + MODEL_SHA[:57]],
    ids=["uppercase", "63-digits", "65-digits", "not-hex", "prefixed"],
)
def test_sha256_must_be_64_lowercase_hex_digits(value: str) -> None:
    with pytest.raises(ManifestError, match="'sha256' must be 64 lowercase hex digits"):
        parse_manifest(json.dumps(manifest_dict(sha256=value)))


def test_sha256_with_a_trailing_newline_is_refused() -> None:
    with pytest.raises(ManifestError, match="sha256"):
        parse_manifest(json.dumps(manifest_dict(sha256=MODEL_SHA + "\n")))


@pytest.mark.parametrize(
    "path", ["/var/task/model.onnx", "../model.onnx", "versions/../../model.onnx", "versions/.."]
)
def test_model_path_must_stay_inside_the_model_location(path: str) -> None:
    with pytest.raises(ManifestError, match="'model_path' must be a relative path"):
        parse_manifest(json.dumps(manifest_dict(model_path=path)))


@pytest.mark.parametrize(
    "path", ["model.onnx", "versions/20240506/model.onnx", "..model.onnx", "./model.onnx"]
)
def test_relative_model_paths_are_accepted(path: str) -> None:
    assert parse_manifest(json.dumps(manifest_dict(model_path=path))).model_path == path


@pytest.mark.parametrize("value", [0, -1, 1.5, "48213", True, False, None, ...], ids=str)
def test_size_bytes_must_be_a_positive_integer(value: Any) -> None:
    with pytest.raises(ManifestError, match="'size_bytes' must be a positive integer"):
        parse_manifest(json.dumps(manifest_dict(size_bytes=value)))


def test_the_smallest_size_is_one_byte() -> None:
    assert parse_manifest(json.dumps(manifest_dict(size_bytes=1))).size_bytes == 1


@pytest.mark.parametrize(
    "labels",
    [
        ["DATA"],
        [],
        ["DATA", "DATA"],
        ["DATA", ""],
        ["DATA", 7],
        ["DATA", None],
        ["DATA", ["IDENTITY"]],
        "DATA,IDENTITY",
        {"DATA": 0, "IDENTITY": 1},
        None,
        ...,
    ],
    ids=[
        "one",
        "none",
        "duplicated",
        "empty-name",
        "int",
        "null",
        "nested",
        "string",
        "object",
        "null-list",
        "missing",
    ],
)
def test_labels_must_list_at_least_two_distinct_team_names(labels: Any) -> None:
    with pytest.raises(ManifestError, match="'labels' must list at least two distinct team names"):
        parse_manifest(json.dumps(manifest_dict(labels=labels)))


def test_two_labels_are_enough_and_keep_their_order() -> None:
    parsed = parse_manifest(json.dumps(manifest_dict(labels=["SEARCH", "DATA"])))
    assert parsed.labels == ("SEARCH", "DATA")


def test_the_manifest_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="format"):
        parse_manifest(json.dumps(manifest_dict(format=...)))


@pytest.mark.parametrize("size", [0, 1, 1024 * 1024 + 17], ids=["empty", "one-byte", "over-a-mebibyte"])
def test_file_sha256_equals_hashlib_on_the_whole_file(tmp_path: Path, size: int) -> None:
    data = bytes((i * 31 + 7) % 256 for i in range(size))
    path = tmp_path / "model.onnx"
    path.write_bytes(data)
    assert file_sha256(path) == hashlib.sha256(data).hexdigest()
