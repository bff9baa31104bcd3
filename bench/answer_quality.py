"""Benchmark: how well the model answers questions as people ask them, on the real data's time split.

Trains on `../shared/data/jira-public-1.csv` (or reads a model folder `train` wrote) and prints, for
each question form (export/questions.py: the ticket text, the summary as written, lower-case "who
knows about …?", no punctuation, Slack markup, the first four words) made from the newest 20 % of
tickets: top-1, top-3, and coverage, precision and calibration error at the model's own threshold.

    python -m bench.answer_quality [--model DIR | --csv PATH --out DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.common import print_table, write_results
from bench.train_export import DEFAULT_CSV

TARGETS = {
    "ticket text": {"top1": 0.887},
    "summary as written": {"top1": 0.83},
    'lower case "who knows about …?"': {"top1": 0.80, "top3": 0.93},
}
"""The answer-quality targets on this split, per question form (≥)."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.answer_quality", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--model", type=Path, help="a folder `train` wrote (its evaluation.json is read)")
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--out", type=Path, help="keep the trained model here (default: a temp dir)")
    args = parser.parse_args(argv)
    if args.model is not None:
        return report(_read(args.model), source=str(args.model))
    if not args.csv.is_file():
        print(f"bench.answer_quality: {args.csv} not found; this benchmark needs the real Jira CSV.")
        return 1
    from export.train import train

    with tempfile.TemporaryDirectory(prefix="whoknows-bench-quality-") as tmp:
        out = args.out or Path(tmp) / "model"
        train(args.csv, out, progress=False)
        return report(_read(out), source=f"export.train.train({args.csv.name})")


def _read(folder: Path) -> dict[str, Any]:
    metrics = json.loads((folder / "evaluation.json").read_text())
    manifest = json.loads((folder / "manifest.json").read_text())
    return {"metrics": metrics, "threshold": manifest.get("confidence_threshold")}


def report(found: dict[str, Any], source: str) -> int:
    metrics, threshold = found["metrics"], found["threshold"] or {}
    rows, results = [], {}
    for name, form in metrics["forms"].items():
        target = TARGETS.get(name, {})
        verdicts = [
            f"{key} {'meets' if form[key] >= wanted else 'MISSES'} {wanted}" for key, wanted in target.items()
        ]
        rows.append(
            (
                name,
                form["top1"],
                form["top3"],
                f"{form['coverage']:.1%}",
                f"{form['precision']:.1%}",
                form["ece"],
                "; ".join(verdicts) or "–",
            )
        )
        results[name] = {k: v for k, v in form.items() if k != "reliability"} | {"targets": target}
    print_table(
        f"answer quality on the newest {metrics['test_tickets']} tickets ({source}); threshold "
        f"{metrics['threshold']:.2f}, chosen for {threshold.get('target_precision', 0):.0%} precision",
        ["question form", "top-1", "top-3", "answered", "precision", "ECE", "target"],
        rows,
    )
    write_results(
        "answer_quality",
        {"source": source, "test_tickets": metrics["test_tickets"], "threshold": threshold, "forms": results},
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
