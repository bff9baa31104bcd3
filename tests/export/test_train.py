"""train -> export -> parity on the synthetic sample and on a slice of the real Jira data."""

from __future__ import annotations

import csv
import json
import sys
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


def test_too_few_teams_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tickets = tmp_path / "t.csv"
    write_tickets(tickets, [Ticket(f"A-{i}", f"login {i}", "", "AUTH", "") for i in range(30)])
    assert main(["train", str(tickets), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "at least 2 teams" in err and err.count("\n") == 1
    assert not (tmp_path / "out" / "model.onnx").exists()


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
        (["train", "missing.csv", "--out", "o"], "missing.csv: no such file"),
        (["train", str(SAMPLE_TICKETS), "--out", "o", "--test-fraction", "1.5"], "--test-fraction"),
        (["train", str(SAMPLE_TICKETS), "--out", "o", "--min-df", "0"], "--min-df"),
        (["ask", "anything", "--model", "nowhere"], "not found"),
    ],
)
def test_bad_arguments_are_one_line_errors(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_ask_prints_top_three(sample_model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "--model", str(sample_model_dir), "our iOS push notifications stopped"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4 and "MOBILE" in lines[1]


def test_ask_never_imports_scikit_learn(sample_model_dir: Path) -> None:
    import subprocess

    code = (
        "import sys; from export.__main__ import main; "
        f"main(['ask', '--model', {str(sample_model_dir)!r}, 'who owns login?']); "
        "assert not any(m.split('.')[0] in ('sklearn', 'scipy', 'skl2onnx') for m in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=Path.cwd(), check=False
    )
    assert result.returncode == 0, result.stderr


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
