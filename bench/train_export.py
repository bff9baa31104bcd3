"""Benchmark: `export.train.train` on the real Jira CSV, then scikit-learn vs ONNX for that model.

1. Times the whole training command (load, fit+evaluate, final fit, convert, parity, write) and
   records the held-out metrics. Target: total <= 90 s on 2 cores.
2. Takes the pipeline that run shipped, pickles it with joblib and converts that same fitted
   object to both ONNX graphs (compact, the default, and skl2onnx's), so all three files hold the
   identical model.
   Then, each in a fresh subprocess: import + load time, peak RSS (VmHWM) after load + 100
   predictions, and single-question latency over ~2000 normalised summaries of the held-out
   (newest) tickets; plus the file sizes.

    python -m bench.train_export [--csv PATH] [--out DIR] [--questions N]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench.common import percentiles, print_table, run_child, verdict, write_results

DEFAULT_CSV = Path(__file__).resolve().parents[2] / "shared/data/jira-public-1.csv"
TRAIN_TARGET_S = 90.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.train_export", description=__doc__.split("\n")[0])
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--out", type=Path, help="keep the trained model here (default: a temp dir)")
    parser.add_argument("--questions", type=int, default=2000)
    args = parser.parse_args(argv)
    if not args.csv.is_file():
        print(f"bench.train_export: {args.csv} not found; this benchmark needs the real Jira CSV.")
        return 1

    with tempfile.TemporaryDirectory(prefix="whoknows-bench-") as tmp:
        return _measure(args, Path(tmp))


def _measure(args: argparse.Namespace, work: Path) -> int:
    import joblib

    from export.convert import GRAPHS, to_onnx
    from export.train import train

    out = args.out or work / "model"
    start = time.perf_counter()
    result = train(args.csv, out, progress=False)
    train_total = time.perf_counter() - start
    metrics = {k: v for k, v in result.metrics.items() if k != "confusion_matrix"}
    print_table(
        f"export.train.train on {args.csv.name} ({len(result.manifest.labels)} teams)",
        ["phase", "seconds"],
        [*result.timings.items(), ("total (wall)", train_total), ("target", f"<= {TRAIN_TARGET_S:.0f}")],
    )
    print(f"verdict: {verdict(train_total, TRAIN_TARGET_S)} target")
    print_table(
        "held-out metrics (newest 20%)",
        ["metric", "value"],
        [(k, v) for k, v in metrics.items() if isinstance(v, int | float)],
    )

    # The very pipeline train() shipped, saved as a pickle and converted to both graphs.
    pipeline, data, test_idx = result.pipeline, result.dataset, result.test_indices
    pickle_path = work / "model.joblib"
    joblib.dump(pipeline, pickle_path)
    classes = [str(c) for c in pipeline.classes_]
    model_files: dict[str, Path] = {"sklearn": pickle_path}
    for graph in GRAPHS:
        model_files[graph] = work / f"{graph}.onnx"
        model_files[graph].write_bytes(to_onnx(pipeline, classes, "bench", graph).SerializeToString())
    summaries = [data.summaries[i] for i in test_idx if data.summaries[i]]
    questions = summaries[: args.questions]
    questions_path = work / "questions.json"
    questions_path.write_text(json.dumps(questions))

    probes = {}
    for kind, path in model_files.items():
        probe_kind = "sklearn" if kind == "sklearn" else "onnx"
        wall, child = run_child(["-m", "bench._load_probe", probe_kind, str(path), str(questions_path)])
        lat_us = [s * 1e6 for s in child.pop("latencies_s")]
        probes[kind] = {
            **child,
            "process_wall_s": wall,
            "latency_us": percentiles(lat_us),
            "file_bytes": path.stat().st_size,
        }
    rows_out = []
    for label, getter in (
        ("file size (MB)", lambda p: p["file_bytes"] / 1e6),
        ("import + load (ms)", lambda p: p["import_and_load_s"] * 1e3),
        ("child wall incl. interpreter + 2100 calls (s)", lambda p: p["process_wall_s"]),
        ("peak RSS after load + 100 calls (MB)", lambda p: p["maxrss_after_load_and_100_kb"] / 1024),
        ("latency p50 (us)", lambda p: p["latency_us"]["p50"]),
        ("latency p90 (us)", lambda p: p["latency_us"]["p90"]),
        ("latency p99 (us)", lambda p: p["latency_us"]["p99"]),
        ("latency mean (us)", lambda p: p["latency_us"]["mean"]),
    ):
        s, r, c = (getter(probes[kind]) for kind in ("sklearn", "skl2onnx", "compact"))
        rows_out.append((label, s, r, c, f"{r / c:.1f}x" if c else "-"))
    print_table(
        f"scikit-learn vs its two ONNX graphs, same fitted model ({len(questions)} single-question calls, "
        "fresh process each)",
        ["", "scikit-learn", "onnx skl2onnx", "onnx compact", "skl2onnx/compact"],
        rows_out,
    )
    write_results(
        "train_export",
        {
            "csv": args.csv.name,
            "train": {
                "timings_s": result.timings,
                "total_wall_s": train_total,
                "target_s": TRAIN_TARGET_S,
                "meets_target": train_total <= TRAIN_TARGET_S,
                "version": result.manifest.version,
                "vocabulary_size": result.manifest.extra["vocabulary_size"],
                "model_bytes": result.manifest.size_bytes,
                "parity": result.manifest.extra["parity"],
                "team_counts": dict(Counter(data.teams).most_common()),
            },
            "metrics": metrics,
            "comparison": {"questions": len(questions), **probes},
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
