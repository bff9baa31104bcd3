"""The confidence below which the bot says it is not sure, chosen per model.

One number for every model does not mean the same thing on every company's data: 0.5 gave answers
that were right 92 % of the time on one Jira and 49 % on another. So training picks, on a
validation slice the model did not train on, the lowest top probability whose answers reach a
target precision; the worker uses it, and "91 %" in Slack then means about what it says.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

DEFAULT_TARGET_PRECISION = 0.9
MIN_ANSWERED = 30
"""Fewer confident answers than this say too little about precision to set a threshold on."""


@dataclass(frozen=True)
class Threshold:
    value: float
    target_precision: float
    precision: float
    """Precision of the validation questions answered at `value`."""
    coverage: float
    """Share of the validation questions answered at `value`."""
    questions: int
    reached: bool
    """False: no threshold reached the target; `value` is the most precise one found."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def choose_threshold(
    confidence: np.ndarray, correct: np.ndarray, target: float, min_answered: int = MIN_ANSWERED
) -> Threshold:
    """The lowest top probability at which the questions answered (confidence >= it) reach `target`
    precision, with at least `min_answered` of them; else the most precise such threshold."""
    order = np.argsort(-confidence, kind="stable")
    ranked, hits = confidence[order], correct[order].astype(float)
    answered = np.arange(1, len(ranked) + 1)
    precision = np.cumsum(hits) / answered
    # A threshold answers every question at or above it: only the last of equal confidences counts.
    last_of_ties = np.r_[ranked[:-1] > ranked[1:], True] if len(ranked) else np.array([], dtype=bool)
    usable = last_of_ties & (answered >= min(min_answered, len(ranked)))
    meets = usable & (precision >= target)
    if meets.any():
        k = int(np.flatnonzero(meets)[-1])  # the most answers, so the lowest threshold
        reached = True
    elif usable.any():
        candidates = np.flatnonzero(usable)
        k = int(candidates[np.argmax(precision[candidates])])
        reached = False
    else:
        return Threshold(1.0, target, 0.0, 0.0, 0, False)
    return Threshold(
        value=round(float(ranked[k]), 4),
        target_precision=target,
        precision=round(float(precision[k]), 4),
        coverage=round(float(answered[k] / len(ranked)), 4),
        questions=len(ranked),
        reached=reached,
    )


def answered_at(confidence: np.ndarray, correct: np.ndarray, threshold: float) -> dict[str, float]:
    """Coverage and precision of the answers a threshold lets through."""
    answered = confidence >= threshold
    return {
        "coverage": round(float(answered.mean()), 4) if len(answered) else 0.0,
        "precision": round(float(correct[answered].mean()), 4) if answered.any() else 0.0,
    }
