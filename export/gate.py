"""Publishing never makes it worse: `export publish` judges the candidate against the published model.

Both answer the candidate's held-out questions (export/holdout.py: its newest tickets' summaries,
with the answers of the candidate's evaluated model, which never trained on them). The published
model is downloaded from the destination as the worker gets it (ModelStore: sha256 checked) and run
as the bot runs it (Predictor and answer_question, at its own threshold). It is asked only the
tickets newer than the newest it trained on (its manifest's `training_data.newest_created`): a
ticket it learned from would flatter it. Trained with `--test-since` that date (retrain does), the
candidate's evaluated model learned from the same tickets as the published one and the two meet on
equal terms; otherwise the published model may have learned from newer tickets than the evaluated
model, which the reason says, and the gate is stricter than it needs to be, never laxer.

Publishing is refused when the candidate's top-1 or answered precision (right answers among those
given as confident) is lower by more than `max_drop` (default 0.01, one point) plus chance: two
standard errors of the difference on the compared questions, paired (`chance`). A retrain
compares on the tickets that came in since the last publish, often a hundred or two, where one
point is one or two answers and two models trained on the same tickets differ by that much;
without the allowance the gate would refuse at random, and `--force` would become a habit. On
thousands of tickets the allowance shrinks below a point. Refused too when there is nothing to
judge on (no held-out questions, fewer than MIN_COMPARED new to the published model). `--force`
publishes anyway. A first publish, or a published model the bot itself could not use (another
normaliser, a file that does not load), has nothing to compare with.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from chalicelib.model.manifest import Manifest
from chalicelib.text import NORMALIZER_VERSION
from export.arguments import number_between
from export.errors import UserError
from export.holdout import HeldOut, read_holdout

DEFAULT_MAX_DROP = 0.01
MIN_COMPARED = 30
"""Fewer held-out tickets than this say too little to tell two models apart (as for the threshold)."""

FIRST, SAME, UNUSABLE, NO_HOLDOUT, TOO_FEW, COMPARED = (
    "first",
    "same",
    "unusable",
    "no_holdout",
    "too_few",
    "compared",
)


max_drop = number_between(0, 1, hint="0.01 is one point")
"""How much lower a figure may be, as an argparse type."""


@dataclass(frozen=True)
class Figures:
    """How one model answered the compared questions."""

    version: str
    top1: float
    precision: float
    """Right answers among those given as confident (0 when none was)."""
    coverage: float
    """Share of the questions answered as confident."""
    threshold: float


@dataclass(frozen=True)
class Verdict:
    kind: str
    passed: bool
    reason: str
    """One line: what was compared and how it came out, or why nothing could be."""
    max_drop: float
    published_version: str | None = None
    questions: int = 0
    candidate: Figures | None = None
    published: Figures | None = None
    chance: Chance | None = None

    def record(self, forced: bool) -> dict[str, Any]:
        """The manifest's `publish` entry: whether --force was given, and the comparison."""
        figures = {
            name: asdict(value)
            for name, value in (
                ("candidate", self.candidate),
                ("published", self.published),
                ("chance", self.chance),
            )
            if value is not None
        }
        return {
            "forced": forced,
            "gate": self.kind,
            "passed": self.passed,
            "reason": self.reason,
            "max_drop": self.max_drop,
            "compared_with": self.published_version,
            "questions": self.questions,
            **figures,
        }


class GateRefused(UserError):
    """The candidate is worse than the published model, or cannot be judged against it."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(f"refused: {verdict.reason}; publish anyway with --force")
        self.verdict = verdict


def judge(
    model_dir: Path,
    candidate: Manifest,
    published: Manifest | None,
    fetch: Callable[[Manifest], Path],
    allowed_drop: float = DEFAULT_MAX_DROP,
) -> Verdict:
    """The candidate in model_dir against `published` (the pointer's manifest; None: nothing is
    published). `fetch` gives the published model's local file (raising ModelStoreError)."""
    from chalicelib.model.errors import ModelCorrupt, ModelLoadError, ModelNotFound, ModelStoreError
    from chalicelib.model.predictor import Predictor

    def verdict(kind: str, passed: bool, reason: str, **more: Any) -> Verdict:
        version = published.version if published else None
        return Verdict(kind, passed, reason, allowed_drop, version, **more)

    if published is None:
        return verdict(FIRST, True, "nothing is published yet: nothing to compare with")
    if published.sha256 == candidate.sha256:
        return verdict(SAME, True, f"{candidate.version} is the published model")
    if published.normalizer_version != NORMALIZER_VERSION:
        return verdict(
            UNUSABLE,
            True,
            f"the published model {published.version} reads questions with normaliser version "
            f"{published.normalizer_version} and this code with {NORMALIZER_VERSION}: the bot refuses "
            "it, so there is nothing to compare with",
        )
    try:
        predictor = Predictor(fetch(published))
    except (ModelCorrupt, ModelNotFound, ModelLoadError) as error:
        return verdict(
            UNUSABLE,
            True,
            f"the published model {published.version} cannot be used ({error}): nothing to compare with",
        )
    except ModelStoreError as error:
        raise UserError(f"cannot fetch the published model to compare with: {error}") from None
    try:
        held = read_holdout(model_dir, candidate.extra.get("holdout"))
    except UserError as error:
        return verdict(NO_HOLDOUT, False, f"no held-out questions to compare on: {error}")
    if held is None:
        return verdict(
            NO_HOLDOUT,
            False,
            f"{model_dir} has no held-out questions to compare on (trained by an older `export train`): "
            "train it again",
        )
    compared, since = new_to(held, published)
    where = (
        f"the {len(compared)} held-out tickets newer than the published model's ({since})"
        if since
        else f"the {len(compared)} held-out tickets (the published model's manifest does not say up to "
        "when its tickets go: it may have trained on some of them)"
    )
    if len(compared) < MIN_COMPARED:
        which = (
            f"the candidate has only {len(compared)} held-out tickets"
            if len(compared) == len(held)
            else f"only {len(compared)} of the candidate's {len(held)} held-out tickets are newer than what "
            f"the published model {published.version} trained on ({since})"
        )
        return verdict(
            TOO_FEW,
            False,
            f"{which}; {MIN_COMPARED} are needed to compare the two: publish when more tickets are in",
            questions=len(compared),
        )
    holdout = candidate.extra.get("holdout")
    trained_until = holdout.get("trained_until") if isinstance(holdout, dict) else None
    if since and isinstance(trained_until, str) and trained_until < since:
        where += (
            f"; the published model trained on tickets up to {since}, the candidate's evaluated model only "
            f"up to {trained_until}, which favours the published one: `export train --test-since {since}` "
            "compares them on equal terms"
        )
    ours_said = candidate_outcomes(candidate, compared)
    theirs_said = published_outcomes(published, predictor, compared)
    ours = _figures(candidate.version, candidate.threshold, ours_said)
    theirs = _figures(published.version, published.threshold, theirs_said)
    luck = chance(ours_said, theirs_said)
    worse = (
        theirs.top1 - ours.top1 > allowed_drop + luck.top1 + 1e-9
        or theirs.precision - ours.precision > allowed_drop + luck.precision + 1e-9
    )
    figures = (
        f"top-1 {ours.top1:.3f} vs {theirs.top1:.3f} published, answered precision {ours.precision:.3f} vs "
        f"{theirs.precision:.3f} (answering {ours.coverage:.0%} vs {theirs.coverage:.0%} at thresholds "
        f"{ours.threshold:.2f} and {theirs.threshold:.2f}) on {where}"
    )
    rule = (
        f"beyond {_points(allowed_drop)} (--max-drop {allowed_drop:g}) and beyond chance on these tickets "
        f"(±{luck.top1 * 100:.1f} points for top-1, ±{luck.precision * 100:.1f} for precision)"
    )
    reason = (
        f"candidate {candidate.version} is worse than the published {published.version}: {figures}; "
        f"a drop {rule} is refused"
        if worse
        else f"candidate {candidate.version} vs published {published.version}: {figures}; no drop {rule}"
    )
    return verdict(
        COMPARED,
        not worse,
        reason,
        questions=len(compared),
        candidate=ours,
        published=theirs,
        chance=luck,
    )


def new_to(held: Sequence[HeldOut], published: Manifest) -> tuple[list[HeldOut], str | None]:
    """The held-out tickets created after the published model's newest training ticket, and that
    date; all of them (and None) when either side has no dates."""
    since = published.newest_created
    if since is None or not all(item.created for item in held):
        return list(held), None
    return [item for item in held if item.created > since], since


Outcome = tuple[bool, bool]
"""One question's answer: (right, given as confident)."""


@dataclass(frozen=True)
class Chance:
    """Two standard errors of each figure's difference on the compared questions: a drop within
    them could be luck (which tickets came in), not a worse model."""

    top1: float
    precision: float


def chance(ours: Sequence[Outcome], theirs: Sequence[Outcome], resamples: int = 1000) -> Chance:
    """Paired: both models answered the same questions, so what varies is which questions came in.
    Top-1: the paired difference's standard error. Answered precision (each over the questions that
    model answered): the spread of the difference over `resamples` bootstrap draws of the questions,
    seeded, so the same figures give the same verdict."""
    import numpy as np

    right = np.array([[a, b] for (a, _), (b, _) in zip(ours, theirs, strict=True)], dtype=float)
    sure = np.array([[a, b] for (_, a), (_, b) in zip(ours, theirs, strict=True)], dtype=float)
    n = len(right)
    differences = right[:, 0] - right[:, 1]
    top1 = float(np.std(differences, ddof=1) / np.sqrt(n)) if n > 1 else 0.0
    draws = np.random.default_rng(0).integers(0, n, size=(resamples, n))
    counts = np.zeros((resamples, n), dtype=np.float32)  # how often each question is in each draw
    np.add.at(counts, (np.arange(resamples)[:, None], draws), 1)
    hits, answered = counts @ (right * sure), counts @ sure
    precision = np.divide(hits, answered, out=np.zeros_like(hits), where=answered > 0)
    spread = float(np.std(precision[:, 0] - precision[:, 1]))
    return Chance(top1=round(2 * top1, 4), precision=round(2 * spread, 4))


def candidate_outcomes(candidate: Manifest, held: Sequence[HeldOut]) -> list[Outcome]:
    """The candidate's evaluated model's answers, as train stored them, at the candidate's threshold."""
    threshold = candidate.threshold
    return [(item.answer == item.team, item.answered(threshold)) for item in held]


def published_outcomes(published: Manifest, predictor: Any, held: Sequence[HeldOut]) -> list[Outcome]:
    """The published model asked each question as the bot would, at its own threshold."""
    from chalicelib.model.answer import answer_question

    threshold = published.threshold
    outcomes = []
    for item in held:
        answer = answer_question(predictor, item.question, threshold, top=1)
        right = bool(answer.guesses) and answer.guesses[0].label == item.team
        outcomes.append((right, answer.kind == "confident"))
    return outcomes


def _points(drop: float) -> str:
    points = round(drop * 100, 4)
    return f"{points:g} point{'' if points == 1 else 's'}"


def _figures(version: str, threshold: float, outcomes: Sequence[Outcome]) -> Figures:
    answered = [right for right, confident in outcomes if confident]
    return Figures(
        version=version,
        top1=round(sum(right for right, _ in outcomes) / len(outcomes), 4),
        precision=round(sum(answered) / len(answered), 4) if answered else 0.0,
        coverage=round(len(answered) / len(outcomes), 4),
        threshold=round(threshold, 4),
    )


def check(
    model_dir: Path,
    candidate: Manifest,
    published: Manifest | None,
    s3_client: Any,
    dest: str,
    *,
    force: bool,
    allowed_drop: float,
    say: Callable[[str], None],
) -> dict[str, Any]:
    """`publish`'s gate: judges, says the verdict, raises GateRefused unless it passed or `force`;
    returns the manifest's `publish` record."""
    from chalicelib.model.store import ModelStore

    with tempfile.TemporaryDirectory(prefix="whoknows-gate-") as cache:
        store = ModelStore(dest, cache_dir=Path(cache), s3_client=s3_client)
        verdict = judge(model_dir, candidate, published, store.fetch_model, allowed_drop)
    if not verdict.passed and not force:
        raise GateRefused(verdict)
    say(f"gate: {verdict.reason}" + ("" if verdict.passed else "; published anyway (--force)"))
    return verdict.record(forced=force)
