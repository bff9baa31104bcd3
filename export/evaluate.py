"""Evaluation on the held-out (newest) tickets: figures for the manifest, report and README."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support

THRESHOLDS = (0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def top_k_accuracy(probabilities: np.ndarray, truth: np.ndarray, k: int) -> float:
    top = np.argsort(-probabilities, axis=1, kind="stable")[:, :k]
    return float(np.mean(np.any(top == truth[:, None], axis=1)))


def threshold_table(probabilities: np.ndarray, truth: np.ndarray) -> list[dict[str, float]]:
    """Coverage (share of questions answered confidently) and precision of those answers, per
    threshold: what the operator reads to choose CONFIDENCE_THRESHOLD."""
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == truth
    rows = []
    for threshold in THRESHOLDS:
        answered = confidence >= threshold
        rows.append(
            {
                "threshold": threshold,
                "coverage": round(float(answered.mean()), 4),
                "precision": round(float(correct[answered].mean()), 4) if answered.any() else 0.0,
            }
        )
    return rows


def evaluate(
    labels: list[str],
    truth_names: list[str],
    probabilities: np.ndarray,
    summary_probabilities: np.ndarray,
) -> dict[str, Any]:
    index = {label: i for i, label in enumerate(labels)}
    truth = np.array([index[name] for name in truth_names])
    predicted = probabilities.argmax(axis=1)
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, predicted, labels=range(len(labels)), zero_division=0
    )
    return {
        "test_tickets": len(truth),
        "top1_accuracy": round(top_k_accuracy(probabilities, truth, 1), 4),
        "top3_accuracy": round(top_k_accuracy(probabilities, truth, 3), 4),
        "macro_f1": round(float(f1_score(truth, predicted, average="macro", zero_division=0)), 4),
        "summary_only_top1_accuracy": round(top_k_accuracy(summary_probabilities, truth, 1), 4),
        "summary_only_top3_accuracy": round(top_k_accuracy(summary_probabilities, truth, 3), 4),
        "per_team": {
            label: {
                "precision": round(float(precision[i]), 4),
                "recall": round(float(recall[i]), 4),
                "f1": round(float(f1[i]), 4),
                "support": int(support[i]),
            }
            for i, label in enumerate(labels)
        },
        "confidence_thresholds": threshold_table(probabilities, truth),
        "confusion_matrix": confusion_matrix(truth, predicted, labels=range(len(labels))).tolist(),
    }


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


def write_report(metrics: dict[str, Any], manifest: dict[str, Any], folder: Path) -> None:
    """evaluation.json (machine-readable) and evaluation.md (for people)."""
    (folder / "evaluation.json").write_text(json.dumps(metrics, indent=2) + "\n")
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
    lines += ["", "| team | precision | recall | F1 | tickets |", "|---|---|---|---|---|"]
    for team, row in metrics["per_team"].items():
        lines.append(
            f"| {team} | {row['precision']:.3f} | {row['recall']:.3f} | {row['f1']:.3f} | {row['support']} |"
        )
    lines += ["", "| confidence ≥ | answered | precision |", "|---|---|---|"]
    for row in metrics["confidence_thresholds"]:
        lines.append(f"| {row['threshold']:.1f} | {row['coverage']:.1%} | {row['precision']:.1%} |")
    lines += ["", "![confusion matrix](confusion_matrix.png)", ""]
    (folder / "evaluation.md").write_text("\n".join(lines))
