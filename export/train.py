"""`python -m export train`: tickets CSV -> evaluated, parity-checked model.onnx + manifest.json.

scikit-learn and skl2onnx are imported inside `train` only, so `python -m export ask` (which
shares the command-line parser) never loads them.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from chalicelib.model.manifest import MANIFEST_NAME, MODEL_NAME, FileRef, Manifest, file_sha256
from chalicelib.model.ticket_index import INDEX_NAME, TicketIndex
from chalicelib.text import NORMALIZER_VERSION
from export.arguments import at_least, fraction, input_file, number_between, output_folder
from export.dates import AUTO, ORDERS
from export.errors import UserError
from export.feedback_rows import DEFAULT_FEEDBACK_WEIGHT, register_arguments
from export.holdout import register_arguments as register_holdout_arguments
from export.threshold import DEFAULT_TARGET_PRECISION

DEFAULT_MIN_TICKETS = 10
DEFAULT_TEST_FRACTION = 0.2
DEFAULT_MIN_DF = 3
DEFAULT_MAX_MODEL_MB = 30.0
DEFAULT_INDEX_TICKETS = 100_000
MODEL_MB_RANGE = (0.1, 10_000)
"""What --max-model-mb (and retrain.toml's max_model_mb) accepts."""
LIBRARIES = ("scikit-learn", "skl2onnx", "onnx", "onnxruntime", "numpy")


@dataclass
class TrainResult:
    out_dir: Path
    manifest: Manifest
    metrics: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)
    pipeline: Any = None
    """The shipped scikit-learn pipeline (what model.onnx was converted from)."""
    dataset: Any = None
    """The loaded export.dataset.Dataset the model was trained on."""
    test_indices: list[int] = field(default_factory=list)
    """The held-out (newest) tickets' indices into `dataset`."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train, evaluate and export a model from a tickets CSV",
        description=(
            "Train the team classifier on a tickets CSV (key, summary, description, team, created), "
            "evaluate it on the newest tickets, convert it to ONNX and write it only if the ONNX "
            "model agrees with scikit-learn (the parity gate)."
        ),
        epilog=(
            "examples:\n"
            "  python -m export train tickets.csv --out out/model\n"
            "  python -m export train export/sample/tickets.csv --out out/sample --min-tickets-per-team 5\n\n"
            "The output folder receives model.onnx, manifest.json, evaluation.md/.json and "
            "confusion_matrix.png."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("tickets", type=Path, help="tickets CSV written by `collect` (or in its format)")
    parser.add_argument("--out", type=Path, required=True, help="output folder (created if missing)")
    parser.add_argument(
        "--test-fraction",
        type=fraction,
        default=DEFAULT_TEST_FRACTION,
        help=f"newest share held out, in (0, 1) (default {DEFAULT_TEST_FRACTION})",
    )
    parser.add_argument(
        "--validation-fraction",
        type=fraction,
        default=0.1,
        help="share of the tickets before the test slice the confidence threshold is chosen on (default 0.1)",
    )
    parser.add_argument(
        "--target-precision",
        type=fraction,
        default=DEFAULT_TARGET_PRECISION,
        help="the threshold is the lowest confidence whose answers reach this precision on the validation "
        f"slice's questions (default {DEFAULT_TARGET_PRECISION})",
    )
    parser.add_argument(
        "--min-tickets-per-team",
        type=at_least(1),
        default=DEFAULT_MIN_TICKETS,
        help=f"teams with fewer tickets are left out, with a warning (default {DEFAULT_MIN_TICKETS})",
    )
    parser.add_argument(
        "--min-df",
        type=at_least(1),
        default=DEFAULT_MIN_DF,
        help=f"keep words and word pairs seen in at least this many tickets (default {DEFAULT_MIN_DF})",
    )
    parser.add_argument(
        "--max-model-mb",
        type=number_between(*MODEL_MB_RANGE),
        default=DEFAULT_MAX_MODEL_MB,
        help="keep only as many of the most frequent terms as a compact-graph model of this size holds "
        "with this many teams: the worker's memory and cold start grow with it "
        f"(default {DEFAULT_MAX_MODEL_MB:g})",
    )
    parser.add_argument(
        "--index-tickets",
        type=at_least(1),
        default=DEFAULT_INDEX_TICKETS,
        help=f"index the newest this many tickets as evidence (default {DEFAULT_INDEX_TICKETS:,})",
    )
    parser.add_argument(
        "--date-order",
        choices=ORDERS,
        default=AUTO,
        help="day/month order of numeric created dates such as 06-09-2024 (default: decided from the "
        "whole column)",
    )
    parser.add_argument(
        "--final-fit",
        choices=("all", "split"),
        default="all",
        help="'all' (default) refits on every ticket after evaluating; 'split' ships the evaluated model",
    )
    parser.add_argument(
        "--graph",
        choices=("compact", "skl2onnx"),
        default="compact",
        help="'compact' (default) costs per word of the question; 'skl2onnx' is the reference conversion",
    )
    parser.add_argument(
        "--no-ticket-index",
        dest="ticket_index",
        action="store_false",
        help="ship no index of past tickets (answers then show no similar tickets; for Jira projects "
        "whose summaries must not be shown in Slack)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    register_arguments(parser)
    register_holdout_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    input_file(args.tickets, "a tickets CSV")
    if args.feedback is not None:
        input_file(args.feedback, "a feedback CSV (written by `python -m export feedback pull`)")
    output_folder(args.out)  # before the fit, so a typo costs a second, not the whole run
    result = train(
        args.tickets,
        args.out,
        test_fraction=args.test_fraction,
        validation_fraction=args.validation_fraction,
        target_precision=args.target_precision,
        min_tickets_per_team=args.min_tickets_per_team,
        min_df=args.min_df,
        max_model_mb=args.max_model_mb,
        index_tickets=args.index_tickets,
        final_fit=args.final_fit,
        graph=args.graph,
        ticket_index=args.ticket_index,
        progress=not args.quiet,
        date_order=args.date_order,
        feedback=args.feedback,
        feedback_weight=args.feedback_weight,
        test_since=args.test_since,
    )
    print(summary(result))
    return 0


def summary(result: TrainResult) -> str:
    """What the operator reads after a run: where the model went, how good it is, what it needs."""
    from export.worker_memory import WorkerMemory

    metrics, extra = result.metrics, result.manifest.extra
    parity, threshold = extra["parity"], extra["confidence_threshold"]
    lines = [
        f"model {result.manifest.version} -> {result.out_dir / MODEL_NAME}",
        f"  held-out newest {metrics['test_tickets']} tickets: top-1 {metrics['top1_accuracy']:.3f}, "
        f"top-3 {metrics['top3_accuracy']:.3f}, macro-F1 {metrics['macro_f1']:.3f} "
        f"({metrics['macro_f1_teams']} teams)",
        f"  confidence threshold {threshold['value']:.2f}: validation questions answered "
        f"{threshold['coverage']:.0%} at {threshold['precision']:.1%} precision "
        f"(target {threshold['target_precision']:.0%})",
    ]
    for name, form in metrics["forms"].items():
        lines.append(
            f"    {name:<34} top-1 {form['top1']:.3f}  answered {form['coverage']:.0%} "
            f"at {form['precision']:.1%} precision"
        )
    for name, evidence in metrics.get("evidence", {}).items():
        lines.append(
            f"    evidence, {name:<34} most similar past ticket of the right team "
            f"{evidence['first_similar_right_team']:.0%}, "
            f"one of three {evidence['any_of_three_right_team']:.0%}"
        )
    index = result.manifest.ticket_index
    lines.append(
        f"  model {result.manifest.size_bytes / 1e6:.1f} MB ({extra['vocabulary_size']:,} terms)"
        + (f", ticket index {index.size_bytes / 1e6:.1f} MB" if index is not None else "")
    )
    lines.append(f"  {WorkerMemory(**extra['worker_memory'])}")  # as the manifest records it
    lines += [f"  warning: {warning}" for warning in metrics["warnings"]]
    if metrics.get("feedback", {}).get("questions"):
        asked = metrics["feedback"]
        lines.append(
            f"  held-out newest {asked['questions']} feedback questions: top-1 {asked['top1']:.3f}, "
            f"answered {asked['coverage']:.0%} at {asked['precision']:.1%} precision"
        )
    lines += [
        f"  parity: {parity['inputs_checked']} inputs, labels agree {parity['label_agreement']:.2%}, "
        f"max probability difference {parity['max_probability_difference']:.2e}",
        f"  report: {result.out_dir / 'evaluation.md'}",
        f"  time: {', '.join(f'{k} {v:.1f}s' for k, v in result.timings.items())}",
    ]
    return "\n".join(lines)


def _calibration_folds(labels: list[str], wanted: int) -> int:
    smallest = min(Counter(labels).values())
    if smallest < 2:
        raise UserError("every team needs at least two training tickets; raise --min-tickets-per-team")
    return folds_for(smallest, wanted)


def folds_for(smallest_team_rows: int, wanted: int) -> int:
    """Calibration folds: as many as wanted, no more than the smallest team has rows, at least two."""
    return max(2, min(wanted, smallest_team_rows))


def count_terms(data: Any, asked: Any, progress: bool) -> Any:
    """Every row any of the fits reads (each ticket's rows, every feedback question), counted once."""
    from export.feedback_rows import add_rows
    from export.pipeline import ModelParams, TermCounts, training_rows

    rows = training_rows(data.texts, data.summaries, data.lower_summaries, data.teams, ModelParams())
    add_rows(rows, asked, 1.0)
    return TermCounts(rows.texts, progress)


def planned_rows(data: Any, indices: list[int]) -> int:
    """The rows the team problems of a fit on these tickets add up to (`fitted_rows`)."""
    from export.pipeline import ModelParams, fitted_rows, team_row_counts

    counts = team_row_counts(
        [data.summaries[i] for i in indices],
        [data.lower_summaries[i] for i in indices],
        [data.teams[i] for i in indices],
    )
    params = ModelParams()
    folds = folds_for(min(counts.values()), params.calibration_folds)
    return fitted_rows(replace(params, calibration_folds=folds), counts)


def train(
    tickets: Path,
    out_dir: Path,
    *,
    test_fraction: float = DEFAULT_TEST_FRACTION,
    validation_fraction: float = 0.1,
    target_precision: float = DEFAULT_TARGET_PRECISION,
    min_tickets_per_team: int = DEFAULT_MIN_TICKETS,
    min_df: int = DEFAULT_MIN_DF,
    max_model_mb: float = DEFAULT_MAX_MODEL_MB,
    index_tickets: int = DEFAULT_INDEX_TICKETS,
    final_fit: str = "all",
    graph: str = "compact",
    ticket_index: bool = True,
    progress: bool = True,
    date_order: str = AUTO,
    feedback: Path | None = None,
    feedback_weight: float = DEFAULT_FEEDBACK_WEIGHT,
    test_since: str | None = None,
) -> TrainResult:
    """The whole offline step; raises UserError (nothing written) on bad input or failed parity.

    Three fits, each on tickets older than what it is judged on: the oldest tickets choose the
    confidence threshold on the validation slice's questions; everything before the test slice is
    evaluated on the newest tickets at that threshold; then every ticket trains the model shipped.
    Feedback questions (export/feedback_rows.py) are split in time apart: the older train the first
    two fits and are evaluated on the newest; the shipped model learns from all of them.
    """
    from export.calibration import plot_reliability
    from export.convert import ConversionError, to_onnx
    from export.dataset import load_dataset
    from export.evaluate import evaluate, plot_confusion_matrix, team_warnings, write_report
    from export.feedback_rows import NO_FEEDBACK, figures, load_feedback
    from export.holdout import held_out, newest_created, split_since, write_holdout
    from export.parity import check_parity
    from export.questions import QUESTION_FORMS, THRESHOLD_FORMS, TICKET_FORM
    from export.threshold import choose_threshold
    from export.ticket_index import build_ticket_index, evidence_quality, write_ticket_index
    from export.worker_memory import worker_memory

    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(now - clock, 2)
        clock = now

    data = load_dataset(tickets, min_tickets_per_team, progress, date_order)
    for note in data.notes:
        print(f"note: {note}")
    if data.dropped_teams:
        dropped = ", ".join(f"{t} ({n})" for t, n in sorted(data.dropped_teams.items()))
        print(f"warning: left out teams with fewer than {min_tickets_per_team} tickets: {dropped}")
    older, test_idx = data.split(test_fraction) if test_since is None else split_since(data, test_since)
    oldest, validation_idx = data.newest(older, validation_fraction)
    learned = (
        load_feedback(feedback, set(data.teams), test_fraction, feedback_weight, test_since)
        if feedback
        else NO_FEEDBACK
    )
    if learned.source:
        print(learned.summary())
    lap("load")
    counts = count_terms(data, learned.all, progress)
    lap("count_terms")
    # The fits are nearly all of a large run's time, and each team's problem costs about its rows:
    # a bar over the rows of every team problem of every fit (calibration folds included), updated
    # as each team finishes, gives an honest remaining time from the first minute on.
    shipped_idx = list(range(len(data))) if final_fit == "all" else older
    planned = [oldest, older] + ([shipped_idx] if final_fit == "all" else [])
    fitting = tqdm(
        total=sum(planned_rows(data, indices) for indices in planned),
        desc=f"fitting ({len(planned)} models)",
        unit=" rows",
        unit_scale=True,
        smoothing=0,  # the average rate so far: team problems vary in size, the fits do not
        disable=not progress,
        file=sys.stderr,
    )

    def advance(rows: int) -> None:  # a function, not the bound method: estimators deep-copy it
        fitting.update(rows)

    def fit(indices: list[int], asked: Any = learned.train) -> Model:
        return Model.fit(
            data, indices, min_df, round(max_model_mb * 1e6), asked, learned.weight, advance, counts
        )

    def question_texts(model: Model, indices: list[int], forms: tuple[str, ...]) -> dict[str, list[str]]:
        return {name: model.question_texts(data, indices, QUESTION_FORMS[name]) for name in forms}

    def questions(model: Model, indices: list[int], forms: tuple[str, ...]) -> dict[str, np.ndarray]:
        asked = question_texts(model, indices, forms)
        return {name: model.pipeline.predict_proba(texts) for name, texts in asked.items()}

    # Every fit first, then what reads them: the bar then runs without pauses and its rate holds.
    chooser = fit(oldest)
    evaluated = fit(older)
    shipped = fit(shipped_idx, learned.all) if final_fit == "all" else evaluated
    fitting.close()
    lap("fit")

    truth = np.array([chooser.labels.index(data.teams[i]) for i in validation_idx])
    asked = questions(chooser, validation_idx, THRESHOLD_FORMS)
    threshold = choose_threshold(
        np.concatenate([p.max(axis=1) for p in asked.values()]),
        np.concatenate([p.argmax(axis=1) == truth for p in asked.values()]),
        target_precision,
    )
    if not threshold.reached:
        print(
            f"warning: no confidence threshold reaches {target_precision:.0%} precision on the validation "
            f"questions; using {threshold.value:.2f} ({threshold.precision:.1%}), the most precise found"
        )
    del chooser
    lap("choose_threshold")

    labels = evaluated.labels
    test_texts = [data.texts[i] for i in test_idx]
    asked = {TICKET_FORM: test_texts} | question_texts(evaluated, test_idx, tuple(QUESTION_FORMS))
    forms = {name: evaluated.pipeline.predict_proba(texts) for name, texts in asked.items()}
    truth = [data.teams[i] for i in test_idx]
    metrics = evaluate(labels, truth, forms, threshold.value)
    metrics["warnings"] = team_warnings(labels, Counter(data.teams[i] for i in older), metrics["per_team"])
    if ticket_index:  # the evidence the evaluated model would show, from tickets older than the questions
        vectorizer = evaluated.pipeline.named_steps["tfidf"]
        past = TicketIndex(build_ticket_index(vectorizer, labels, data, data.latest(older, index_tickets)))
        asked_forms = {name: texts for name, texts in asked.items() if name != TICKET_FORM}
        tops = {name: [labels[k] for k in forms[name].argmax(axis=1)] for name in asked_forms}
        metrics["evidence"] = evidence_quality(past, vectorizer, asked_forms, truth, tops)
    if learned.source:
        metrics["feedback"] = figures(evaluated, learned.test, threshold.value)
    holdout = held_out(evaluated, data, test_idx)
    lap("evaluate")

    data_sha = file_sha256(tickets)
    now = datetime.now(UTC)
    version = f"{now:%Y%m%d-%H%M%S}-{data_sha[:8]}"
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=out_dir))
    try:
        model_path = staging / MODEL_NAME
        try:
            onnx_model = to_onnx(shipped.pipeline, labels, version, graph, shipped.expander_data)
        except ConversionError as error:
            raise UserError(f"conversion to ONNX failed: {error}; model not written") from None
        payload = onnx_model.SerializeToString()
        model_path.write_bytes(payload)
        lap("convert")
        asked_texts = shipped.question_texts(
            data, test_idx, QUESTION_FORMS['lower case "who knows about …?"']
        )
        parity = check_parity(shipped.pipeline, model_path, test_texts + asked_texts, progress)
        lap("parity")
        if not parity.passed:
            raise UserError(
                f"parity gate failed: ONNX and scikit-learn agree on {parity.label_agreement:.4%} of labels, "
                f"max probability difference {parity.max_probability_difference:.2e}; model not written"
            )
        index_ref = None
        if ticket_index:
            vectorizer = shipped.pipeline.named_steps["tfidf"]
            index_path = staging / INDEX_NAME
            indexed = data.latest(range(len(data)), index_tickets)
            write_ticket_index(build_ticket_index(vectorizer, labels, data, indexed), index_path)
            index_ref = FileRef(INDEX_NAME, file_sha256(index_path), index_path.stat().st_size)
            lap("ticket_index")
        terms = len(shipped.pipeline.named_steps["tfidf"].vocabulary_)
        manifest = Manifest(
            version=version,
            model_path=MODEL_NAME,
            sha256=hashlib.sha256(payload).hexdigest(),
            size_bytes=len(payload),
            labels=tuple(labels),
            normalizer_version=NORMALIZER_VERSION,
            ticket_index=index_ref,
            extra={
                "created": now.isoformat(timespec="seconds"),
                "training_data": {
                    "source": tickets.name,
                    "sha256": data_sha,
                    "tickets": len(data),
                    "skipped_rows": data.skipped_rows,
                    "dropped_teams": data.dropped_teams,
                    "team_counts": dict(Counter(data.teams).most_common()),
                    "split": "time-ordered" if data.time_ordered else "file order (no created dates)",
                    "threshold_fit_tickets": len(oldest),
                    "validation_tickets": len(validation_idx),
                    "train_tickets": len(older),
                    "test_tickets": len(test_idx),
                    "final_fit": final_fit,
                    "newest_created": newest_created(data, shipped_idx),
                }
                | ({"feedback": learned.as_dict()} if learned.source else {}),
                "params": shipped.params.as_dict(),
                "graph": graph,
                "vocabulary_size": terms,
                "worker_memory": worker_memory(
                    len(payload),
                    terms,
                    index_ref.size_bytes if index_ref else 0,
                ).as_dict(),
                "confidence_threshold": threshold.as_dict(),
                "metrics": _manifest_metrics(metrics),
                "holdout": write_holdout(staging, holdout, newest_created(data, older)),
                "parity": parity.as_dict(),
                "libraries": {name: package_version(name) for name in LIBRARIES}
                | {"python": platform.python_version()},
            },
        )
        write_report(metrics, manifest.to_dict(), staging)
        plot_confusion_matrix(labels, metrics["confusion_matrix"], staging / "confusion_matrix.png")
        curves = {name: {"bins": f["reliability"], "ece": f["ece"]} for name, f in metrics["forms"].items()}
        plot_reliability(curves, staging / "reliability.png", threshold.value)
        (staging / MANIFEST_NAME).write_text(manifest.to_json())
        # The manifest goes last, so a reader of out_dir never sees it pointing at an older model.
        names = [*sorted(p.name for p in staging.iterdir() if p.name != MANIFEST_NAME), MANIFEST_NAME]
        for name in names:
            os.replace(staging / name, out_dir / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    lap("write")
    return TrainResult(out_dir, manifest, metrics, timings, shipped.pipeline, data, test_idx)


def _manifest_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    """The evaluation without what only the report needs (matrix, reliability bins)."""
    forms = {
        name: {key: value for key, value in form.items() if key != "reliability"}
        for name, form in metrics["forms"].items()
    }
    return {k: v for k, v in metrics.items() if k not in ("confusion_matrix", "forms")} | {"forms": forms}


@dataclass
class Model:
    """A fitted pipeline with the expander data it ships and the parameters it was fitted with."""

    pipeline: Any
    params: Any
    expander_data: dict[str, str]

    @property
    def labels(self) -> list[str]:
        return [str(c) for c in self.pipeline.classes_]

    @classmethod
    def fit(
        cls,
        data: Any,
        indices: list[int],
        min_df: int,
        max_model_bytes: int,
        asked: Any = (),
        asked_weight: float = 0.0,
        progress: Any = None,
        counts: Any = None,
    ) -> Model:
        """`asked`: feedback questions (export.feedback_rows) to learn from at `asked_weight`;
        `max_model_bytes`: the size budget that caps the vocabulary (export.pipeline); `progress`:
        called with each team's rows fitted; `counts`: the rows' terms, counted once
        (export.pipeline.TermCounts; None: counted for this fit)."""
        from chalicelib.model.expand import expander_metadata
        from export.feedback_rows import add_rows
        from export.pipeline import ModelParams, fit_pipeline, jobs_for, terms_for_budget, training_rows

        teams = [data.teams[i] for i in indices]
        params = ModelParams(min_df=min_df, max_terms=terms_for_budget(max_model_bytes, len(set(teams))))
        rows = training_rows(
            [data.texts[i] for i in indices],
            [data.summaries[i] for i in indices],
            [data.lower_summaries[i] for i in indices],
            teams,
            params,
        )
        add_rows(rows, asked, asked_weight)
        params = replace(
            params,
            calibration_folds=_calibration_folds(rows.labels, params.calibration_folds),
            n_jobs=jobs_for(params, rows),
        )
        pipeline = fit_pipeline(params, rows, progress, counts)
        expander = expander_metadata(
            pipeline.named_steps["tfidf"].vocabulary_, data.identifier_counts(indices)
        )
        return cls(pipeline, params, expander)

    def question_texts(self, data: Any, indices: list[int], form: Any) -> list[str]:
        """The tickets' summaries asked in `form`, as the bot reads them (normalised and expanded)."""
        from chalicelib.model.expand import QuestionExpander
        from chalicelib.text import normalize

        expander = QuestionExpander.from_metadata(self.expander_data)
        assert expander is not None
        return [expander(normalize(form(data.raw_summaries[i]))) for i in indices]

    def question_probabilities(self, data: Any, indices: list[int], form: Any) -> np.ndarray:
        return self.pipeline.predict_proba(self.question_texts(data, indices, form))
