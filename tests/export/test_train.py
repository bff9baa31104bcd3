"""train -> export -> parity on the synthetic sample and on a slice of the real Jira data."""

from __future__ import annotations

import csv
import json
import os
import sys
import time
from pathlib import Path

import onnx
import pytest

from chalicelib.model.manifest import parse_manifest
from chalicelib.model.predictor import Predictor
from export.__main__ import main
from export.sample import SAMPLE_TICKETS
from export.tickets import Ticket, read_tickets, write_tickets
from export.train import train


def test_sample_model_folder_is_complete_and_consistent(sample_model_dir: Path) -> None:
    manifest = parse_manifest((sample_model_dir / "manifest.json").read_bytes())
    assert set(manifest.labels) == {"PAYMENTS", "PLATFORM", "DATA", "IDENTITY", "MOBILE", "SEARCH"}
    assert manifest.extra["parity"]["passed"] is True
    assert manifest.extra["parity"]["label_agreement"] == 1.0
    assert manifest.extra["parity"]["max_probability_difference"] <= 1e-5
    for name in ("model.onnx", "evaluation.md", "evaluation.json", "confusion_matrix.png"):
        assert (sample_model_dir / name).stat().st_size > 0
    metrics = json.loads((sample_model_dir / "evaluation.json").read_text())
    assert {"top1_accuracy", "top3_accuracy", "macro_f1", "summary_only_top1_accuracy", "per_team"} <= set(
        metrics
    )
    assert metrics["top1_accuracy"] > 0.6  # a broken pipeline scores ~1/6


def test_model_runs_without_locale_dependent_ops(sample_model_dir: Path) -> None:
    graph = onnx.load(sample_model_dir / "model.onnx").graph
    assert "StringNormalizer" not in {node.op_type for node in graph.node}
    assert "TfIdfVectorizer" not in {node.op_type for node in graph.node}  # the compact graph


def test_predictor_ranks_an_obvious_question(sample_model_dir: Path) -> None:
    predictor = Predictor(sample_model_dir / "model.onnx")
    guesses = predictor.rank("who can fix the VAT on our refund invoices?")
    assert guesses[0].label == "PAYMENTS"
    assert len(guesses) == 3
    assert guesses[0].probability >= guesses[1].probability >= guesses[2].probability


def test_one_team_is_a_one_line_error_that_does_not_offer_a_useless_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tickets = tmp_path / "t.csv"
    write_tickets(tickets, [Ticket(f"A-{i}", f"login {i}", "", "AUTH", "") for i in range(30)])

    assert main(["train", str(tickets), "--out", str(tmp_path / "out"), "--quiet"]) == 2

    err = capsys.readouterr().err
    assert err == (
        f"error: {tickets} has tickets for 1 team (AUTH (30)); a model needs at least 2 teams: "
        "collect tickets from more teams (another project, component or team field)\n"
    )
    assert not (tmp_path / "out").exists()


def test_small_teams_are_left_out_with_a_warning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sample = read_tickets(SAMPLE_TICKETS)
    tiny = [
        Ticket(f"NEW-{i}", "brand new team topic", "", "NEWTEAM", "2024-01-01T00:00:00.000+0000")
        for i in range(3)
    ]
    tickets = tmp_path / "t.csv"
    write_tickets(tickets, [*sample, *tiny])
    assert main(["train", str(tickets), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    assert "left out teams with fewer than 10 tickets: NEWTEAM (3)" in capsys.readouterr().out
    assert "NEWTEAM" not in parse_manifest((tmp_path / "out" / "manifest.json").read_bytes()).labels


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "missing.csv", "--out", "o"], "missing.csv does not exist (expected a tickets CSV)"),
        (["train", "export/sample", "--out", "o"], "export/sample is a directory, not a tickets CSV"),
        (
            ["train", str(SAMPLE_TICKETS), "--out", "o", "--test-fraction", "1.5"],
            "argument --test-fraction: must be between 0 and 1 (both excluded), got 1.5 "
            "(see python -m export train --help)",
        ),
        (
            ["train", str(SAMPLE_TICKETS), "--out", "o", "--test-fraction", "0"],
            "--test-fraction: must be between",
        ),
        (
            ["train", str(SAMPLE_TICKETS), "--out", "o", "--min-df", "0"],
            "argument --min-df: must be at least 1, got 0",
        ),
        (
            ["train", str(SAMPLE_TICKETS), "--out", "o", "--min-tickets-per-team", "0"],
            "argument --min-tickets-per-team: must be at least 1, got 0",
        ),
        (
            ["train", str(SAMPLE_TICKETS), "--out", "o", "--date-order", "ymd"],
            "argument --date-order: invalid choice",
        ),
    ],
)
def test_bad_arguments_are_one_line_errors(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


@pytest.mark.parametrize("where", ["a file", "inside a file", "not writable"])
def test_an_unusable_out_fails_at_once_before_the_data_is_read(
    where: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A tickets file that cannot be loaded: had train read it first, its error would show instead.
    tickets = tmp_path / "t.csv"
    tickets.write_bytes("summary,team\n".encode("utf-16"))
    blocker = tmp_path / "blocker"
    blocker.write_text("a file")
    out = {
        "a file": blocker,
        "inside a file": blocker / "model",
        "not writable": Path("/sys/whoknows-model"),
    }[where]
    if where == "not writable" and os.access("/sys", os.W_OK) and os.geteuid() != 0:
        pytest.skip("/sys is writable here")  # read-only for everyone (root included) on Linux

    started = time.perf_counter()
    assert main(["train", str(tickets), "--out", str(out), "--quiet"]) == 2
    elapsed = time.perf_counter() - started

    err = capsys.readouterr().err
    expected = {
        "a file": "is a file, not a folder",
        "inside a file": "is inside a file",
        "not writable": "cannot write in",
    }
    assert err.startswith(f"error: --out {out}") and expected[where] in err and err.count("\n") == 1
    assert elapsed < 1.0


def test_summary_only_tickets_train_end_to_end(summary_only_model: Path) -> None:
    """A file with no description column (as issues.apache.org exports): summaries alone must do.
    The training itself runs through `python -m export train` in the fixture."""
    manifest = parse_manifest((summary_only_model / "manifest.json").read_bytes())

    assert len(manifest.labels) == 6 and "Payments & Billing Engineering" in manifest.labels
    assert manifest.extra["parity"]["passed"] is True
    assert manifest.extra["training_data"]["tickets"] == 360
    assert manifest.extra["training_data"]["split"] == "time-ordered"
    assert manifest.extra["metrics"]["top1_accuracy"] > 0.5  # a broken pipeline scores ~1/6


@pytest.mark.slow
@pytest.mark.realdata
def test_real_data_slice_trains_and_passes_parity(real_data: Path, tmp_path: Path) -> None:
    csv.field_size_limit(sys.maxsize)
    with real_data.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))[::10]  # every 10th ticket: 3,000 across the whole time span
    sliced = tmp_path / "slice.csv"
    write_tickets(
        sliced, [Ticket(r["key"], r["summary"], r["description"], r["team"], r["created"]) for r in rows]
    )
    result = train(sliced, tmp_path / "out", progress=False)
    assert result.manifest.extra["parity"]["label_agreement"] == 1.0
    assert result.manifest.extra["parity"]["max_probability_difference"] <= 1e-5
    assert result.metrics["top1_accuracy"] > 0.7
    assert len(result.manifest.labels) == 8


def test_the_reference_graph_can_still_be_chosen(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    args = ["train", str(SAMPLE_TICKETS), "--out", str(out), "--min-tickets-per-team", "5"]
    assert main([*args, "--graph", "skl2onnx", "--quiet"]) == 0
    manifest = parse_manifest((out / "manifest.json").read_bytes())
    assert manifest.extra["graph"] == "skl2onnx"
    assert manifest.extra["parity"]["passed"] is True
    assert "TfIdfVectorizer" in {node.op_type for node in onnx.load(out / "model.onnx").graph.node}


def test_a_size_budget_caps_the_vocabulary_and_the_capped_model_passes_parity(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from export.pipeline import terms_for_budget
    from export.worker_memory import worker_memory

    out = tmp_path / "small"
    argv = ["train", str(SAMPLE_TICKETS), "--out", str(out), "--min-tickets-per-team", "5", "--quiet"]
    assert main([*argv, "--max-model-mb", "0.1", "--index-tickets", "50"]) == 0

    printed = capsys.readouterr().out
    manifest = parse_manifest((out / "manifest.json").read_bytes())
    assert manifest.extra["vocabulary_size"] == terms_for_budget(100_000, len(manifest.labels))
    assert manifest.extra["parity"]["passed"] is True
    assert manifest.size_bytes <= 100_000 * 1.2  # the budget, give or take the graph's fixed parts
    assert "worker memory: expected peak" in printed
    expected = worker_memory(
        manifest.size_bytes, manifest.extra["vocabulary_size"], (out / "tickets.npz").stat().st_size
    )
    assert manifest.extra["worker_memory"] == expected.as_dict()
    assert f"expected peak ~{expected.expected_peak_mb:.0f} MB" in printed
    from chalicelib.model.ticket_index import TicketIndex

    index = TicketIndex.load(out / "tickets.npz")
    assert len(index) == 50


def test_a_size_budget_below_the_floor_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["train", str(SAMPLE_TICKETS), "--out", str(tmp_path / "m"), "--max-model-mb", "0"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "--max-model-mb" in err and "0.1" in err and len(err.strip().splitlines()) == 1
