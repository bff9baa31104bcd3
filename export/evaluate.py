"""Evaluation on the held-out (newest) tickets: figures for the manifest, the report and the docs.

Every figure is taken per question form (export/questions.py): the ticket text training reads, and
the ways people ask about the same thing. At the model's threshold, coverage is the share of
questions the bot answers as confident, precision the share of those answers that were right.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support

from export.calibration import reliability
from export.questions import TICKET_FORM
from export.threshold import answered_at

THRESHOLDS = (0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
SUMMARY_FORM = "summary as written"
MIN_TEAM_TICKETS = 30
"""Fewer training tickets than this rarely teach a team's vocabulary: warned about."""
MIN_RECENT_TICKETS = 3
"""A team with fewer tickets than this in the newest period may have been renamed or re-scoped."""


def top_k_accuracy(probabilities: np.ndarray, truth: np.ndarray, k: int) -> float:
    top = np.argsort(-probabilities, axis=1, kind="stable")[:, :k]
    return float(np.mean(np.any(top == truth[:, None], axis=1)))


def threshold_table(probabilities: np.ndarray, truth: np.ndarray) -> list[dict[str, float]]:
    """Coverage and precision per threshold: how the line moves the two."""
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == truth
    return [{"threshold": t, **answered_at(confidence, correct, t)} for t in THRESHOLDS]


def form_figures(probabilities: np.ndarray, truth: np.ndarray, threshold: float) -> dict[str, Any]:
    """One question form's top-1/top-3, its answers at the threshold, and its calibration."""
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == truth
    calibration = reliability(confidence, correct)
    return {
        "top1": round(top_k_accuracy(probabilities, truth, 1), 4),
        "top3": round(top_k_accuracy(probabilities, truth, 3), 4),
        **answered_at(confidence, correct, threshold),
        "ece": calibration["ece"],
        "reliability": calibration["bins"],
    }


def evaluate(
    labels: list[str],
    truth_names: list[str],
    probabilities: Mapping[str, np.ndarray],
    threshold: float,
) -> dict[str, Any]:
    """`probabilities` per question form, the ticket form first; `threshold` the model's own."""
    index = {label: i for i, label in enumerate(labels)}
    truth = np.array([index[name] for name in truth_names])
    ticket = probabilities[TICKET_FORM]
    predicted = ticket.argmax(axis=1)
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, predicted, labels=range(len(labels)), zero_division=0
    )
    present = sorted(set(truth.tolist()))
    forms = {name: form_figures(p, truth, threshold) for name, p in probabilities.items()}
    summary = forms.get(SUMMARY_FORM, forms[TICKET_FORM])
    return {
        "test_tickets": len(truth),
        "top1_accuracy": forms[TICKET_FORM]["top1"],
        "top3_accuracy": forms[TICKET_FORM]["top3"],
        "macro_f1": round(
            float(f1_score(truth, predicted, labels=present, average="macro", zero_division=0)), 4
        ),
        "macro_f1_teams": len(present),
        "summary_only_top1_accuracy": summary["top1"],
        "summary_only_top3_accuracy": summary["top3"],
        "threshold": threshold,
        "forms": forms,
        "per_team": {
            label: {
                "precision": round(float(precision[i]), 4),
                "recall": round(float(recall[i]), 4),
                "f1": round(float(f1[i]), 4),
                "support": int(support[i]),
            }
            for i, label in enumerate(labels)
        },
        "confidence_thresholds": threshold_table(probabilities.get(SUMMARY_FORM, ticket), truth),
        "confusion_matrix": confusion_matrix(truth, predicted, labels=range(len(labels))).tolist(),
    }


def team_warnings(
    labels: list[str], train_counts: Mapping[str, int], per_team: Mapping[str, Mapping[str, Any]]
) -> list[str]:
    """Teams the model cannot be trusted on, each with the reason and what helps."""
    warnings = []
    for label in labels:
        trained, recent = train_counts.get(label, 0), per_team[label]["support"]
        if trained < MIN_TEAM_TICKETS:
            warnings.append(
                f"{label} has only {trained} training tickets (fewer than {MIN_TEAM_TICKETS}): its answers "
                "will be weak; collect more of its tickets or merge it with a neighbouring team"
            )
        if recent < MIN_RECENT_TICKETS:
            warnings.append(
                f"{label} has {recent} ticket{'' if recent == 1 else 's'} in the newest period: renamed, "
                "merged or gone quiet? "
                "Check its label, or leave it out with --min-tickets-per-team"
            )
        elif per_team[label]["recall"] == 0:
            warnings.append(
                f"{label}: none of its {recent} newest tickets was predicted right: the model cannot "
                "tell it apart from its neighbours (see the confusion matrix)"
            )
    return warnings


def plot_confusion_matrix(labels: list[str], matrix: list[list[int]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = np.array(matrix)
    rates = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    size = 2 + 0.7 * len(labels)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    image = ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted team")
    ax.set_ylabel("true team (newest tickets)")
    ax.set_title("Confusion matrix, row-normalised")
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(
                j,
                i,
                str(counts[i, j]),
                ha="center",
                va="center",
                fontsize=8,
                color="white" if rates[i, j] > 0.5 else "black",
            )
    fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def feedback_lines(figures: Mapping[str, Any] | None) -> list[str]:
    """The report's section on feedback questions, apart from the tickets (export/feedback_rows.py)."""
    if figures is None:
        return []
    if not figures.get("questions"):
        return ["", "Feedback questions: none held out (too few to split in time); all were trained on."]
    return [
        "",
        f"Feedback questions held out: the newest {figures['questions']} that people corrected or "
        "confirmed (the model evaluated above never trained on them):",
        "",
        "| questions | top-1 | top-3 | answered | precision |",
        "|---|---|---|---|---|",
        f"| {figures['questions']} | {figures['top1']:.3f} | {figures['top3']:.3f} | "
        f"{figures['coverage']:.1%} | {figures['precision']:.1%} |",
    ]


def write_report(metrics: dict[str, Any], manifest: dict[str, Any], folder: Path) -> None:
    """evaluation.json (machine-readable) and evaluation.md (for people)."""
    (folder / "evaluation.json").write_text(json.dumps(metrics, indent=2) + "\n")
    threshold = manifest.get("confidence_threshold") or {}
    lines = [
        f"# whoknows model {manifest['version']}",
        "",
        f"Held-out: the newest {metrics['test_tickets']} tickets (time-ordered split).",
        "",
        "| metric | value |",
        "|---|---|",
    ]
    for key in (
        "top1_accuracy",
        "top3_accuracy",
        "macro_f1",
        "summary_only_top1_accuracy",
        "summary_only_top3_accuracy",
    ):
        lines.append(f"| {key.replace('_', ' ')} | {metrics[key]:.4f} |")
    if "macro_f1_teams" in metrics:
        lines += [
            "",
            f"Macro-F1 averages the {metrics['macro_f1_teams']} teams present in the newest tickets.",
        ]
    if "forms" in metrics:
        lines += [
            "",
            f"Confident answers at the model's threshold ({metrics['threshold']:.2f}"
            + (f", chosen for {threshold['target_precision']:.0%} precision" if threshold else "")
            + "), per way of asking:",
            "",
            "| question | top-1 | top-3 | answered | precision | ECE |",
            "|---|---|---|---|---|---|",
        ]
        for name, row in metrics["forms"].items():
            lines.append(
                f"| {name} | {row['top1']:.3f} | {row['top3']:.3f} | {row['coverage']:.1%} | "
                f"{row['precision']:.1%} | {row['ece']:.3f} |"
            )
        lines += ["", "![reliability diagram](reliability.png)"]
    if metrics.get("evidence"):
        lines += [
            "",
            "Evidence: the past tickets most like each question (tickets older than the questions):",
            "",
            "| question | most similar is the right team's | one of three is | answers with evidence |",
            "|---|---|---|---|",
        ]
        for name, row in metrics["evidence"].items():
            lines.append(
                f"| {name} | {row['first_similar_right_team']:.1%} | {row['any_of_three_right_team']:.1%} | "
                f"{row['answers_with_evidence']:.1%} |"
            )
    lines += ["", "| team | precision | recall | F1 | tickets |", "|---|---|---|---|---|"]
    for team, row in metrics["per_team"].items():
        lines.append(
            f"| {team} | {row['precision']:.3f} | {row['recall']:.3f} | {row['f1']:.3f} | {row['support']} |"
        )
    for warning in metrics.get("warnings", []):
        lines.append(f"\n- warning: {warning}")
    lines += feedback_lines(metrics.get("feedback"))
    lines += ["", "| confidence ≥ | answered | precision |", "|---|---|---|"]
    for row in metrics["confidence_thresholds"]:
        lines.append(f"| {row['threshold']:.1f} | {row['coverage']:.1%} | {row['precision']:.1%} |")
    lines += ["", "![confusion matrix](confusion_matrix.png)", ""]
    (folder / "evaluation.md").write_text("\n".join(lines))
