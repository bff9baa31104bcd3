"""The held-out questions a training folder carries for the publish gate."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from chalicelib.model.manifest import parse_manifest
from export.__main__ import main
from export.dataset import load_dataset
from export.errors import UserError
from export.holdout import HOLDOUT_NAME, created_of, read_holdout, since_date, split_since
from export.sample import SAMPLE_TICKETS


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


def test_test_since_holds_out_exactly_the_tickets_created_after_it() -> None:
    data = load_dataset(SAMPLE_TICKETS, 5, progress=False)
    since = "2024-06-02T16:30:20+00:00"

    older, newer = split_since(data, since_date(since))

    assert sorted(older + newer) == list(range(len(data)))
    assert min(created_of(data, j) for j in newer) > since >= max(created_of(data, i) for i in older)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "2030-01-01",
            "error: no ticket was created after 2030-01-01T00:00:00 (--test-since): nothing to hold out",
        ),
        (
            "yesterday",
            "error: argument --test-since: must be a date such as 2024-06-30T12:00:00+00:00, got 'yesterday'",
        ),
    ],
)
def test_a_test_since_that_holds_nothing_out_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str, message: str
) -> None:
    out = tmp_path / "out"

    assert main(["train", str(SAMPLE_TICKETS), "--out", str(out), "--test-since", value, "--quiet"]) == 2

    assert capsys.readouterr().err.startswith(message)
    assert not out.exists() or not any(out.iterdir())
