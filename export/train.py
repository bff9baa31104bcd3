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
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

from chalicelib.model.manifest import MANIFEST_NAME, MODEL_NAME, Manifest, file_sha256
from chalicelib.text import NORMALIZER_VERSION
from export.arguments import at_least, fraction, input_file, output_folder
from export.dates import AUTO, ORDERS
from export.errors import UserError

DEFAULT_MIN_TICKETS = 10
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
        "--test-fraction", type=fraction, default=0.2, help="newest share held out, in (0, 1) (default 0.2)"
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
        default=3,
        help="keep words and word pairs seen in at least this many tickets (default 3)",
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
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    input_file(args.tickets, "a tickets CSV")
    output_folder(args.out)  # before the fit, so a typo costs a second, not the whole run
    result = train(
        args.tickets,
        args.out,
        test_fraction=args.test_fraction,
        min_tickets_per_team=args.min_tickets_per_team,
        min_df=args.min_df,
        final_fit=args.final_fit,
        graph=args.graph,
        progress=not args.quiet,
        date_order=args.date_order,
    )
    metrics, parity = result.metrics, result.manifest.extra["parity"]
    print(
        f"model {result.manifest.version} -> {result.out_dir / MODEL_NAME}\n"
        f"  held-out newest {metrics['test_tickets']} tickets: top-1 {metrics['top1_accuracy']:.3f}, "
        f"top-3 {metrics['top3_accuracy']:.3f}, macro-F1 {metrics['macro_f1']:.3f}, "
        f"summary-only top-1 {metrics['summary_only_top1_accuracy']:.3f}\n"
        f"  parity: {parity['inputs_checked']} inputs, labels agree {parity['label_agreement']:.2%}, "
        f"max probability difference {parity['max_probability_difference']:.2e}\n"
        f"  report: {result.out_dir / 'evaluation.md'}\n"
        f"  time: {', '.join(f'{k} {v:.1f}s' for k, v in result.timings.items())}"
    )
    return 0


def _calibration_folds(labels: list[str], wanted: int) -> int:
    smallest = min(Counter(labels).values())
    if smallest < 2:
        raise UserError("every team needs at least two training tickets; raise --min-tickets-per-team")
    return max(2, min(wanted, smallest))


def train(
    tickets: Path,
    out_dir: Path,
    *,
    test_fraction: float = 0.2,
    min_tickets_per_team: int = DEFAULT_MIN_TICKETS,
    min_df: int = 3,
    final_fit: str = "all",
    graph: str = "compact",
    progress: bool = True,
    date_order: str = AUTO,
) -> TrainResult:
    """The whole offline step; raises UserError (nothing written) on bad input or failed parity."""
    from export.convert import ConversionError, to_onnx
    from export.dataset import load_dataset
    from export.evaluate import evaluate, plot_confusion_matrix, write_report
    from export.parity import check_parity
    from export.pipeline import ModelParams, build_pipeline, training_rows

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
    train_idx, test_idx = data.split(test_fraction)
    lap("load")

    def fit(indices: list[int]) -> Any:
        rows, labels = training_rows(
            [data.texts[i] for i in indices],
            [data.summaries[i] for i in indices],
            [data.teams[i] for i in indices],
        )
        params = ModelParams(min_df=min_df, calibration_folds=_calibration_folds(labels, 3))
        return build_pipeline(params, len(indices)).fit(rows, labels), params

    evaluated, params = fit(train_idx)
    labels = [str(c) for c in evaluated.classes_]
    test_texts = [data.texts[i] for i in test_idx]
    metrics = evaluate(
        labels,
        [data.teams[i] for i in test_idx],
        evaluated.predict_proba(test_texts),
        evaluated.predict_proba([data.summaries[i] for i in test_idx]),
    )
    lap("fit_and_evaluate")
    shipped, params = fit(list(range(len(data)))) if final_fit == "all" else (evaluated, params)
    lap("final_fit")

    data_sha = file_sha256(tickets)
    now = datetime.now(UTC)
    version = f"{now:%Y%m%d-%H%M%S}-{data_sha[:8]}"
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=out_dir))
    try:
        model_path = staging / MODEL_NAME
        try:
            payload = to_onnx(shipped, labels, version, graph).SerializeToString()
        except ConversionError as error:
            raise UserError(f"conversion to ONNX failed: {error}; model not written") from None
        model_path.write_bytes(payload)
        lap("convert")
        parity = check_parity(shipped, model_path, test_texts, progress)
        lap("parity")
        if not parity.passed:
            raise UserError(
                f"parity gate failed: ONNX and scikit-learn agree on {parity.label_agreement:.4%} of labels, "
                f"max probability difference {parity.max_probability_difference:.2e}; model not written"
            )
        manifest = Manifest(
            version=version,
            model_path=MODEL_NAME,
            sha256=hashlib.sha256(payload).hexdigest(),
            size_bytes=len(payload),
            labels=tuple(labels),
            normalizer_version=NORMALIZER_VERSION,
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
                    "train_tickets": len(train_idx),
                    "test_tickets": len(test_idx),
                    "final_fit": final_fit,
                },
                "params": params.as_dict(),
                "graph": graph,
                "vocabulary_size": len(shipped.named_steps["tfidf"].vocabulary_),
                "metrics": {k: v for k, v in metrics.items() if k != "confusion_matrix"},
                "parity": parity.as_dict(),
                "libraries": {name: package_version(name) for name in LIBRARIES}
                | {"python": platform.python_version()},
            },
        )
        write_report(metrics, manifest.to_dict(), staging)
        plot_confusion_matrix(labels, metrics["confusion_matrix"], staging / "confusion_matrix.png")
        (staging / MANIFEST_NAME).write_text(manifest.to_json())
        # The manifest goes last, so a reader of out_dir never sees it pointing at an older model.
        names = [*sorted(p.name for p in staging.iterdir() if p.name != MANIFEST_NAME), MANIFEST_NAME]
        for name in names:
            os.replace(staging / name, out_dir / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    lap("write")
    return TrainResult(out_dir, manifest, metrics, timings, shipped, data, test_idx)
