"""Whether the model's confidence means what it says: a reliability diagram and its error.

The answer shows "87 %"; of the questions answered with about 87 %, about 87 % should be right.
Bins of top probability against the share right in each; the expected calibration error (ECE) is
their gap weighted by how many questions each bin holds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

BINS = 15


def reliability(confidence: np.ndarray, correct: np.ndarray, bins: int = BINS) -> dict[str, object]:
    """Per bin: mean confidence, share correct, count; and the ECE."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    rows, ece = [], 0.0
    for b in range(bins):
        members = index == b
        count = int(members.sum())
        if not count:
            continue
        mean_confidence = float(confidence[members].mean())
        accuracy = float(correct[members].mean())
        ece += count / len(confidence) * abs(mean_confidence - accuracy)
        rows.append({"confidence": round(mean_confidence, 4), "accuracy": round(accuracy, 4), "count": count})
    return {"bins": rows, "ece": round(ece, 4)}


def plot_reliability(
    curves: dict[str, dict[str, object]], path: Path, threshold: float | None = None
) -> None:
    """One line per question form: share right against confidence, with the diagonal."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="perfectly calibrated")
    for name, curve in curves.items():
        bins = curve["bins"]
        assert isinstance(bins, list)
        ax.plot(
            [b["confidence"] for b in bins],
            [b["accuracy"] for b in bins],
            marker="o",
            markersize=3,
            label=f"{name} (ECE {curve['ece']:.3f})",
        )
    if threshold is not None:
        ax.axvline(threshold, color="black", linewidth=1, label=f"threshold {threshold:.2f}")
    ax.set_xlabel("top probability shown in Slack")
    ax.set_ylabel("share of those answers that were right")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title("Reliability on the newest tickets")
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
