"""The held-out questions a training folder carries for the publish gate."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from chalicelib.model.manifest import parse_manifest
from export.errors import UserError
from export.holdout import HOLDOUT_NAME, read_holdout


def test_the_training_folder_carries_the_newest_tickets_with_the_evaluated_models_answers(
    sample_model_dir: Path,
) -> None:
    manifest = parse_manifest((sample_model_dir / "manifest.json").read_bytes())
    metrics = json.loads((sample_model_dir / "evaluation.json").read_text())

    held = read_holdout(sample_model_dir, manifest.extra["holdout"])

    assert held is not None and len(held) == metrics["test_tickets"] == manifest.extra["holdout"]["questions"]
    right = sum(item.answer == item.team for item in held) / len(held)
    assert round(right, 4) == metrics["forms"]["summary as written"]["top1"]  # the evaluated model's answers
    newest = manifest.extra["training_data"]["newest_created"]
    assert max(item.created for item in held) == newest  # final fit: every ticket, the newest included
    assert all(item.question and item.known_words >= 0 for item in held)
    assert (sample_model_dir / HOLDOUT_NAME).stat().st_size < 300 * len(held)


def test_a_holdout_that_does_not_match_its_manifest_is_refused(
    sample_model_dir: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "copy"
    shutil.copytree(sample_model_dir, folder)
    manifest = parse_manifest((folder / "manifest.json").read_bytes())
    with (folder / HOLDOUT_NAME).open("a") as handle:
        handle.write("{}\n")

    with pytest.raises(UserError, match="does not match its manifest's sha256: retrain"):
        read_holdout(folder, manifest.extra["holdout"])
    assert read_holdout(folder, None) is None
