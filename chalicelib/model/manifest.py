"""The manifest that travels next to `model.onnx`: what the worker trusts before loading a model.

Written by the export pipeline, read by the worker. Only the fields the worker acts on are typed;
the rest (metrics, training data summary, library versions) is kept verbatim in `extra`. Two files
may travel with the model, each named with its path beside the manifest, sha256 and size, verified
and swapped in together with the model: the team directory (`team_directory`) and the index of
past tickets shown as evidence (`ticket_index`).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

MANIFEST_FORMAT = 1
MANIFEST_NAME = "manifest.json"
MODEL_NAME = "model.onnx"
"""The model file's name beside its manifest, in a training folder and in a published version."""
DEFAULT_CONFIDENCE_THRESHOLD = 0.5
"""For a model that recorded no threshold of its own."""
MAX_DIRECTORY_BYTES = 1 << 20
"""A team directory is a few kilobytes; anything past a megabyte is not one."""
MAX_TICKET_INDEX_BYTES = 256 << 20
"""The ticket index of a 300,000-ticket model is tens of megabytes; past this it is not one."""
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class FileRef:
    """A file published with a model: where it is (relative to the manifest) and what its bytes
    must hash to."""

    path: str
    sha256: str
    size_bytes: int

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "sha256": self.sha256, "size_bytes": self.size_bytes}


class ManifestError(ValueError):
    """The manifest is missing a field or holds a value the worker cannot trust."""


@dataclass(frozen=True)
class Manifest:
    version: str
    model_path: str  # relative to the manifest's own location
    sha256: str
    size_bytes: int
    labels: tuple[str, ...]
    normalizer_version: str
    extra: dict[str, Any] = field(default_factory=dict, compare=False)
    team_directory: FileRef | None = None
    """The directory published with the model; None: the worker uses TEAM_DIRECTORY."""
    ticket_index: FileRef | None = None
    """Past tickets to show as evidence (chalicelib.model.ticket_index); None: answers show none."""

    @property
    def confidence_threshold(self) -> float | None:
        """The threshold training chose for this model (export/threshold.py), if it recorded one
        that is a probability; the worker falls back to its default otherwise."""
        chosen = self.extra.get("confidence_threshold")
        value = chosen.get("value") if isinstance(chosen, dict) else None
        if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1:
            return float(value)
        return None

    @property
    def threshold(self) -> float:
        """The confidence line for this model's answers: its own, else the default (a model trained
        before thresholds were chosen per model records none). CONFIDENCE_THRESHOLD overrides it."""
        chosen = self.confidence_threshold
        return chosen if chosen is not None else DEFAULT_CONFIDENCE_THRESHOLD

    @property
    def newest_created(self) -> str | None:
        """When the newest ticket this model trained on was created (ISO 8601), if recorded: what
        the publish gate and retrain compare a candidate's held-out tickets against."""
        data = self.extra.get("training_data")
        newest = data.get("newest_created") if isinstance(data, dict) else None
        return newest if isinstance(newest, str) and newest else None

    def to_dict(self) -> dict[str, Any]:
        files = {
            name: ref.to_dict()
            for name, ref in (("team_directory", self.team_directory), ("ticket_index", self.ticket_index))
            if ref is not None
        }
        return {
            "format": MANIFEST_FORMAT,
            "version": self.version,
            "model_path": self.model_path,
            "sha256": self.sha256,
            "size_bytes": self.size_bytes,
            "labels": list(self.labels),
            "normalizer_version": self.normalizer_version,
            **files,
            **self.extra,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False) + "\n"

    def with_model_path(self, model_path: str) -> Manifest:
        return replace(self, model_path=model_path)

    def with_team_directory(self, team_directory: FileRef | None) -> Manifest:
        return replace(self, team_directory=team_directory)

    def under(self, folder: str) -> Manifest:
        """This manifest as read from `folder`'s parent: its paths prefixed with `folder/` (the
        pointer names a version's files as `versions/<version>/…`)."""

        def moved(ref: FileRef | None) -> FileRef | None:
            return None if ref is None else replace(ref, path=f"{folder}/{ref.path}")

        return replace(
            self,
            model_path=f"{folder}/{self.model_path}",
            team_directory=moved(self.team_directory),
            ticket_index=moved(self.ticket_index),
        )


def parse_manifest(raw: bytes | str) -> Manifest:
    """Parses and validates manifest JSON; raises ManifestError with the first problem found."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise ManifestError(f"manifest is not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise ManifestError("manifest must be a JSON object")
    if data.get("format") != MANIFEST_FORMAT or isinstance(data.get("format"), bool):
        raise ManifestError(f"unsupported manifest format {data.get('format')!r}, expected {MANIFEST_FORMAT}")
    for key in ("version", "model_path", "sha256", "normalizer_version"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise ManifestError(f"manifest field {key!r} must be a non-empty string")
    if not _SHA256.fullmatch(data["sha256"]):
        raise ManifestError("manifest field 'sha256' must be 64 lowercase hex digits")
    if not _relative(data["model_path"]):
        raise ManifestError("manifest field 'model_path' must be a relative path inside the model location")
    size = data.get("size_bytes")
    if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
        raise ManifestError("manifest field 'size_bytes' must be a positive integer")
    labels = data.get("labels")
    if (
        not isinstance(labels, list)
        or len(labels) < 2
        or not all(isinstance(label, str) and label for label in labels)
        or len(set(labels)) != len(labels)
    ):
        raise ManifestError("manifest field 'labels' must list at least two distinct team names")
    known = {
        "format",
        "version",
        "model_path",
        "sha256",
        "size_bytes",
        "labels",
        "normalizer_version",
        "team_directory",
        "ticket_index",
    }
    return Manifest(
        version=data["version"],
        model_path=data["model_path"],
        sha256=data["sha256"],
        size_bytes=size,
        labels=tuple(labels),
        normalizer_version=data["normalizer_version"],
        extra={k: v for k, v in data.items() if k not in known},
        team_directory=_file_ref(data.get("team_directory"), "team_directory", MAX_DIRECTORY_BYTES),
        ticket_index=_file_ref(data.get("ticket_index"), "ticket_index", MAX_TICKET_INDEX_BYTES),
    )


def _file_ref(value: Any, name: str, max_bytes: int) -> FileRef | None:
    if value is None:
        return None
    where = f"manifest field {name!r}"
    if not isinstance(value, dict):
        raise ManifestError(f"{where} must be an object with path, sha256 and size_bytes")
    path, digest, size = value.get("path"), value.get("sha256"), value.get("size_bytes")
    if not isinstance(path, str) or not path or not _relative(path):
        raise ManifestError(f"{where} path must be a relative path inside the model location")
    if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
        raise ManifestError(f"{where} sha256 must be 64 lowercase hex digits")
    if not isinstance(size, int) or isinstance(size, bool) or not 0 < size <= max_bytes:
        raise ManifestError(f"{where} size_bytes must be a whole number from 1 to {max_bytes}")
    return FileRef(path, digest, size)


def _relative(path: str) -> bool:
    return ".." not in path.split("/") and not path.startswith("/")


def file_sha256(path: Path) -> str:
    """The hex sha256 of a file, as a manifest records its model's."""
    with Path(path).open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
