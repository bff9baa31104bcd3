"""The confidence threshold: the lowest one whose answers reach the target precision, worked out by
hand on small cases, including ties, too few answers and an unreachable target."""

from __future__ import annotations

import numpy as np
import pytest

from export.threshold import answered_at, choose_threshold

# Confidence, right?  Sorted high to low, precision of the answers at or above each confidence:
# 0.95 y 1/1, 0.9 y 2/2, 0.8 n 2/3, 0.7 y 3/4, 0.6 y 4/5, 0.5 n 4/6, 0.4 n 4/7
CONFIDENCE = np.array([0.6, 0.9, 0.4, 0.95, 0.7, 0.5, 0.8])
CORRECT = np.array([True, True, False, True, True, False, False])


def test_the_lowest_threshold_reaching_the_target_is_chosen() -> None:
    chosen = choose_threshold(CONFIDENCE, CORRECT, target=0.75, min_answered=1)
    assert (chosen.value, chosen.precision, chosen.coverage) == (0.6, 0.8, round(5 / 7, 4))
    assert chosen.reached and chosen.questions == 7


def test_precision_is_not_monotonic_and_the_lowest_qualifying_threshold_wins() -> None:
    # At 0.8 precision dips to 2/3, at 0.6 it is back at 0.8: 0.6 still qualifies for 0.8.
    assert choose_threshold(CONFIDENCE, CORRECT, target=0.8, min_answered=1).value == 0.6
    assert choose_threshold(CONFIDENCE, CORRECT, target=0.81, min_answered=1).value == 0.9


def test_too_few_answers_do_not_set_a_threshold() -> None:
    chosen = choose_threshold(CONFIDENCE, CORRECT, target=0.99, min_answered=3)
    # 1.0 precision only with one or two answers: not enough; the most precise with 3+ is 0.6 (0.8).
    assert not chosen.reached
    assert (chosen.value, chosen.precision) == (0.6, 0.8)


def test_tied_confidences_are_answered_together() -> None:
    confidence = np.array([0.9, 0.7, 0.7, 0.7, 0.3])
    correct = np.array([True, True, False, False, True])
    # At 0.7 all three 0.7s are answered (2/4); a threshold cannot take one of them and not the others.
    chosen = choose_threshold(confidence, correct, target=0.5, min_answered=1)
    assert (chosen.value, chosen.precision, chosen.coverage) == (0.3, 0.6, 1.0)
    assert choose_threshold(confidence, correct, target=0.61, min_answered=1).value == 0.9


def test_no_questions_give_a_threshold_that_answers_nothing() -> None:
    chosen = choose_threshold(np.array([]), np.array([], dtype=bool), target=0.9)
    assert (chosen.value, chosen.reached, chosen.questions) == (1.0, False, 0)


@pytest.mark.parametrize(("threshold", "coverage", "precision"), [(0.0, 1.0, 4 / 7), (0.65, 4 / 7, 0.75)])
def test_answered_at_gives_coverage_and_precision(
    threshold: float, coverage: float, precision: float
) -> None:
    assert answered_at(CONFIDENCE, CORRECT, threshold) == {
        "coverage": round(coverage, 4),
        "precision": round(precision, 4),
    }
