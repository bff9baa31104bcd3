"""export.evaluate on hand-made probabilities whose figures are worked out below: top-k accuracy
(ties go to the earlier label), coverage and precision per confidence threshold, the evaluation
figures, the JSON and Markdown reports, and a confusion-matrix PNG drawn without a display."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from export.evaluate import (
    MIN_TEAM_TICKETS,
    SUMMARY_FORM,
    THRESHOLDS,
    evaluate,
    plot_confusion_matrix,
    team_warnings,
    threshold_table,
    top_k_accuracy,
    write_report,
)
from export.questions import TICKET_FORM

REPO = Path(__file__).resolve().parents[2]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

LABELS = ["A", "B", "C", "D"]
TRUTH_NAMES = ["A", "A", "B", "C", "D"]
# Ranked labels per row (ties keep label order):   top-1     top-3        truth  hit@1  hit@3
PROBABILITIES = np.array(
    [
        [0.7, 0.1, 0.1, 0.1],  #                      A         A, B, C      A      yes    yes
        [0.1, 0.6, 0.2, 0.1],  #                      B         B, C, A      A      no     yes
        [0.1, 0.8, 0.05, 0.05],  #                    B         B, A, C      B      yes    yes
        [0.5, 0.1, 0.3, 0.1],  #                      A         A, C, B      C      no     yes
        [0.4, 0.3, 0.2, 0.1],  #                      A         A, B, C      D      no     no
    ]
)
# Every summary row ranks D, C, B, A: top-1 hits only the D ticket, top-3 misses only the A tickets.
SUMMARY_PROBABILITIES = np.tile([0.1, 0.2, 0.3, 0.4], (5, 1))


def crafted_metrics() -> dict[str, Any]:
    forms = {TICKET_FORM: PROBABILITIES, SUMMARY_FORM: SUMMARY_PROBABILITIES}
    return evaluate(LABELS, TRUTH_NAMES, forms, threshold=0.55)


def test_top_k_accuracy_counts_rows_whose_truth_is_among_the_k_best() -> None:
    truth = np.array([0, 0, 1, 2, 3])
    assert top_k_accuracy(PROBABILITIES, truth, 1) == pytest.approx(2 / 5)
    assert top_k_accuracy(PROBABILITIES, truth, 3) == pytest.approx(4 / 5)
    assert top_k_accuracy(PROBABILITIES, truth, 4) == 1.0


def test_top_k_accuracy_breaks_ties_in_favour_of_the_earlier_label() -> None:
    tied = np.array([[0.25, 0.25, 0.25, 0.25], [0.1, 0.45, 0.45, 0.0], [0.3, 0.3, 0.3, 0.1]])
    assert top_k_accuracy(tied, np.array([0, 1, 0]), 1) == 1.0
    assert top_k_accuracy(tied, np.array([3, 2, 1]), 1) == 0.0
    assert top_k_accuracy(tied, np.array([2, 0, 2]), 3) == 1.0
    assert top_k_accuracy(tied, np.array([3, 3, 3]), 3) == 0.0
    assert top_k_accuracy(tied, np.array([3, 0, 3]), 3) == 1 / 3  # [0.1, .45, .45, 0]: top 3 is 1, 2, 0


def test_threshold_table_gives_coverage_and_precision_of_the_confident_answers() -> None:
    probabilities = np.array(
        [
            [0.95, 0.03, 0.02],  # confidence 0.95, right
            [0.2, 0.65, 0.15],  # confidence 0.65, wrong
            [0.5, 0.3, 0.2],  # confidence 0.5 exactly, right
            [0.35, 0.33, 0.32],  # confidence 0.35, wrong
        ]
    )
    table = threshold_table(probabilities, np.array([0, 0, 0, 2]))
    assert [row["threshold"] for row in table] == list(THRESHOLDS)
    assert {row["threshold"]: (row["coverage"], row["precision"]) for row in table} == {
        0.0: (1.0, 0.5),
        0.2: (1.0, 0.5),
        0.3: (1.0, 0.5),
        0.4: (0.75, 0.6667),
        0.5: (0.75, 0.6667),  # a confidence equal to the threshold counts as answered
        0.6: (0.5, 0.5),
        0.7: (0.25, 1.0),
        0.8: (0.25, 1.0),
        0.9: (0.25, 1.0),
    }


def test_threshold_table_reports_zero_precision_when_nothing_is_answered() -> None:
    probabilities = np.array([[0.6, 0.4], [0.3, 0.7]])
    table = {row["threshold"]: row for row in threshold_table(probabilities, np.array([0, 1]))}
    assert (table[0.6]["coverage"], table[0.6]["precision"]) == (1.0, 1.0)
    assert (table[0.7]["coverage"], table[0.7]["precision"]) == (0.5, 1.0)
    assert (table[0.8]["coverage"], table[0.8]["precision"]) == (0.0, 0.0)


def test_evaluate_figures_on_the_crafted_case() -> None:
    metrics = crafted_metrics()
    assert metrics["test_tickets"] == 5
    assert metrics["top1_accuracy"] == 0.4
    assert metrics["top3_accuracy"] == 0.8
    assert metrics["summary_only_top1_accuracy"] == 0.2
    assert metrics["summary_only_top3_accuracy"] == 0.6
    # Predicted A, B, B, A, A. F1: A 2*(1/3*1/2)/(1/3+1/2) = 0.4, B 2*(1/2*1)/(3/2) = 2/3, C 0, D 0.
    assert metrics["macro_f1"] == round((0.4 + 2 / 3) / 4, 4) == 0.2667
    assert metrics["per_team"] == {
        "A": {"precision": 0.3333, "recall": 0.5, "f1": 0.4, "support": 2},
        "B": {"precision": 0.5, "recall": 1.0, "f1": 0.6667, "support": 1},
        "C": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1},
        "D": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1},
    }
    # Rows are the true team, columns the predicted one, both in label order.
    assert metrics["confusion_matrix"] == [[1, 1, 0, 0], [0, 1, 0, 0], [1, 0, 0, 0], [1, 0, 0, 0]]


def test_the_threshold_table_is_read_on_questions_not_tickets() -> None:
    rows = {row["threshold"]: row for row in crafted_metrics()["confidence_thresholds"]}
    # Every summary question is 0.4 sure of D; only the D ticket's is right.
    assert (rows[0.4]["coverage"], rows[0.4]["precision"]) == (1.0, 0.2)
    assert (rows[0.5]["coverage"], rows[0.5]["precision"]) == (0.0, 0.0)


def test_each_question_form_gets_its_figures_at_the_models_threshold() -> None:
    forms = crafted_metrics()["forms"]
    assert list(forms) == [TICKET_FORM, SUMMARY_FORM]
    ticket = forms[TICKET_FORM]
    # Ticket confidences 0.7, 0.6, 0.8, 0.5, 0.4: at 0.55 rows 0-2 are answered; rows 0 and 2 right.
    assert (ticket["top1"], ticket["top3"]) == (0.4, 0.8)
    assert (ticket["coverage"], ticket["precision"]) == (0.6, 0.6667)
    assert forms[SUMMARY_FORM]["coverage"] == 0.0 and forms[SUMMARY_FORM]["precision"] == 0.0
    # Summary questions: all 0.4 sure, 0.2 right: one bin, |0.4 - 0.2| = 0.2.
    assert forms[SUMMARY_FORM]["ece"] == 0.2
    assert forms[SUMMARY_FORM]["reliability"] == [{"confidence": 0.4, "accuracy": 0.2, "count": 5}]


def test_a_team_absent_from_the_test_tickets_still_gets_a_row_but_no_share_of_macro_f1() -> None:
    metrics = evaluate(
        ["A", "B", "C"], ["A", "B"], {TICKET_FORM: np.array([[0.9, 0.05, 0.05], [0.2, 0.7, 0.1]])}, 0.5
    )
    assert metrics["per_team"]["C"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert metrics["confusion_matrix"] == [[1, 0, 0], [0, 1, 0], [0, 0, 0]]
    assert metrics["top1_accuracy"] == 1.0
    assert (metrics["macro_f1"], metrics["macro_f1_teams"]) == (1.0, 2)  # C has no newest tickets


def test_teams_that_cannot_be_learned_well_are_warned_about() -> None:
    per_team = {
        "BIG": {"support": 40, "recall": 0.9},
        "FEW": {"support": 10, "recall": 0.5},
        "QUIET": {"support": 1, "recall": 1.0},
        "LOST": {"support": 37, "recall": 0.0},
    }
    trained = {"BIG": 900, "FEW": 8, "QUIET": 400, "LOST": 300}
    warnings = team_warnings(list(per_team), trained, per_team)
    assert len(warnings) == 3
    assert warnings[0].startswith(f"FEW has only 8 training tickets (fewer than {MIN_TEAM_TICKETS})")
    assert warnings[1].startswith("QUIET has 1 ticket in the newest period")
    assert warnings[2].startswith("LOST: none of its 37 newest tickets was predicted right")


def test_write_report_writes_the_same_figures_as_json_and_a_markdown_table(tmp_path: Path) -> None:
    metrics = crafted_metrics()
    write_report(metrics, {"version": "20240506-070809-abcdef12"}, tmp_path)

    assert json.loads((tmp_path / "evaluation.json").read_text()) == metrics
    markdown = (tmp_path / "evaluation.md").read_text()
    lines = markdown.splitlines()
    assert lines[0] == "# whoknows model 20240506-070809-abcdef12"
    assert "Held-out: the newest 5 tickets (time-ordered split)." in lines
    for row in (
        "| top1 accuracy | 0.4000 |",
        "| top3 accuracy | 0.8000 |",
        "| macro f1 | 0.2667 |",
        "| summary only top1 accuracy | 0.2000 |",
        "| summary only top3 accuracy | 0.6000 |",
        "| A | 0.333 | 0.500 | 0.400 | 2 |",
        "| B | 0.500 | 1.000 | 0.667 | 1 |",
        "| D | 0.000 | 0.000 | 0.000 | 1 |",
        "| 0.0 | 100.0% | 20.0% |",
        "| 0.4 | 100.0% | 20.0% |",
        "| 0.9 | 0.0% | 0.0% |",
        f"| {TICKET_FORM} | 0.400 | 0.800 | 60.0% | 66.7% | 0.400 |",  # ECE: (.3+.6+.2+.5+.4) / 5
        "![confusion matrix](confusion_matrix.png)",
    ):
        assert row in lines, row
    assert len([line for line in lines if line.startswith("| 0.")]) == len(THRESHOLDS)


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, which always follows the signature."""
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_plot_confusion_matrix_writes_a_png(tmp_path: Path) -> None:
    path = tmp_path / "confusion_matrix.png"
    plot_confusion_matrix(LABELS, crafted_metrics()["confusion_matrix"], path)
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    width, height = png_size(data)
    assert width > height > 100  # one column wider than tall, for the colour bar

    more_labels = [f"TEAM{i}" for i in range(8)]
    bigger = tmp_path / "bigger.png"
    plot_confusion_matrix(more_labels, np.eye(8, dtype=int).tolist(), bigger)
    assert png_size(bigger.read_bytes())[1] > height  # the figure grows with the number of teams


def test_plot_confusion_matrix_needs_no_display(tmp_path: Path) -> None:
    """In a fresh interpreter with no display, where an interactive backend is requested, the plot
    is still drawn, with Agg."""
    path = tmp_path / "headless.png"
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["MPLBACKEND"] = "TkAgg"
    env["PYTHONPATH"] = str(REPO)
    script = (
        "import sys, matplotlib\n"
        "from pathlib import Path\n"
        "from export.evaluate import plot_confusion_matrix\n"
        "plot_confusion_matrix(['A', 'B'], [[3, 1], [0, 2]], Path(sys.argv[1]))\n"
        "print(matplotlib.get_backend())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(path)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().lower() == "agg"
    assert path.read_bytes().startswith(PNG_SIGNATURE)
