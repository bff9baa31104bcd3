"""Benchmark: the model at a large company's scale, from 30,000 to 300,000 tickets and 8 to 100 teams.

For each scale (`bench.scale_data` builds its tickets from jira-public-1.csv, deterministically):

- train: `python -m export train` as an operator runs it, wall time and peak memory (the sum of the
  RSS of the process and its workers, sampled every 0.2 s);
- the model: model.onnx and tickets.npz on disk, terms kept, the expected worker memory `train`
  prints, top-1 per question form on the scale's own time split;
- the worker: cold start and peak RSS as `bench.serving` (d) and (f) measure them (a fresh
  interpreter fetching the model from moto's S3 and answering one job to a Slack stand-in), and
  warm `Predictor.rank` as (e) does, the scales in turn run by run.

It prints the growth per doubling of tickets between neighbouring scales, not only the end points.

    python -m bench.scale [--scales 30kx8,100kx30,300kx100] [--work DIR] [--runs 5]
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.common import PYTHON, REPO, print_table, verdict, write_results
from bench.scale_data import Scale

DEFAULT_SCALES = "30kx8,100kx30,300kx100"
DEFAULT_CSV = REPO.parent / "shared/data/jira-public-1.csv"
TARGETS = {  # at 300,000 tickets and 100 teams, on 2 cores
    "train_minutes": 15.0,
    "train_peak_gb": 8.0,
    "model_mb": 30.0,
    "worker_cold_ms": 1000.0,
    "worker_maxrss_mb": 300.0,
    "rank_p50_us": 200.0,
}


class TreeMemory:
    """The peak of the summed RSS of a process and its descendants, sampled on a thread: train's
    calibration folds run in worker processes, whose memory a single ru_maxrss does not add up."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        self.pid, self.interval, self.peak_kb = pid, interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak_kb = max(self.peak_kb, sum(_rss_kb(pid) for pid in _tree(self.pid)))


def _tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                stat = Path(f"/proc/{entry}/stat").read_text()
                parent = int(stat.rsplit(")", 1)[1].split()[1])
                children.setdefault(parent, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def _rss_kb(pid: int) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def tickets_file(scale: Scale, csv: Path, work: Path) -> Path:
    """The scale's tickets CSV, built once per work folder (the 300k one takes minutes)."""
    path = work / f"tickets-{scale.tickets}x{scale.teams}.csv"
    if not path.exists():
        start = time.perf_counter()
        subprocess.run(
            [
                PYTHON,
                "-m",
                "bench.scale_data",
                f"{scale.tickets}x{scale.teams}",
                "--csv",
                str(csv),
                "--out",
                str(path),
            ],
            cwd=REPO,
            check=True,
        )
        print(f"built {path.name} in {time.perf_counter() - start:.0f} s", flush=True)
    return path


def train(tickets: Path, out: Path) -> dict[str, Any]:
    """`python -m export train` on `tickets`: wall time, peak memory, what it printed and wrote."""
    start = time.perf_counter()
    process = subprocess.Popen(
        [PYTHON, "-m", "export", "train", str(tickets), "--out", str(out)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    with TreeMemory(process.pid) as memory:
        printed, bars = process.communicate()
    seconds = time.perf_counter() - start
    if process.returncode != 0:
        raise RuntimeError(f"train failed on {tickets.name}:\n{(printed + bars)[-3000:]}")
    manifest = json.loads((out / "manifest.json").read_text())
    evaluation = json.loads((out / "evaluation.json").read_text())
    index = manifest.get("ticket_index") or {}
    return {
        "seconds": round(seconds, 1),
        "peak_tree_mb": round(memory.peak_kb / 1024, 1),
        "printed": printed.splitlines(),
        "model_bytes": manifest["size_bytes"],
        "index_bytes": index.get("size_bytes", 0),
        "vocabulary": manifest["vocabulary_size"],
        "max_terms": manifest["params"].get("max_terms"),
        "teams": len(manifest["labels"]),
        "tickets": manifest["training_data"]["tickets"],
        "worker_memory": manifest.get("worker_memory", {}),
        "top1": {name: form["top1"] for name, form in evaluation["forms"].items()},
        "top1_ticket": evaluation["top1_accuracy"],
        "eta": eta_truth(bars),
    }


_FITTING_BAR = re.compile(r"^fitting[^:]*:\s*(\d+)%.*\[(\d+(?::\d+){1,2})<(\d+(?::\d+){1,2}|\?)")
CHECKPOINTS = (0.1, 0.25, 0.5, 0.75)


def _seconds(clock: str) -> float:
    seconds = 0.0
    for part in clock.split(":"):
        seconds = seconds * 60 + float(part)
    return seconds


def eta_truth(bars: str) -> dict[str, Any]:
    """How well the fitting bar's remaining time foretold its end, read from what tqdm printed (as
    an operator sees it): at 10/25/50/75 % of the bar, elapsed + remaining against the actual end."""
    updates = []
    for line in re.split(r"[\r\n]+", bars):
        match = _FITTING_BAR.match(line.strip())
        if match and match[3] != "?":
            updates.append((int(match[1]) / 100, _seconds(match[2]), _seconds(match[3])))
    if not updates:
        return {}
    end = updates[-1][1]
    predicted = {}
    for checkpoint in CHECKPOINTS:
        reached = [(elapsed, remaining) for done, elapsed, remaining in updates if done >= checkpoint]
        if reached and end > 0:
            elapsed, remaining = reached[0]
            predicted[f"{checkpoint:.0%}"] = round((elapsed + remaining) / end - 1, 3)
    return {"bar_seconds": end, "error_at": predicted}


def per_doubling(smaller: float, larger: float, tickets_ratio: float) -> float:
    """The growth factor per doubling of tickets between two scales."""
    return (
        (larger / smaller) ** (1 / math.log2(tickets_ratio))
        if smaller > 0 and tickets_ratio > 1
        else math.nan
    )


def serve(models: dict[str, Path], runs: int, work: Path) -> dict[str, dict[str, Any]]:
    """(d), (e), (f) of bench.serving for every model, in turn."""
    from bench.serving import compile_as_bundled, local_aws, sample_questions, warm_predict, worker_cold
    from tests.support.slack_standin import SlackStandIn

    compile_as_bundled(REPO)
    questions = sample_questions()
    quiet = open(os.devnull, "w")  # noqa: SIM115 - the worker's JSON log lines
    try:
        with local_aws(work) as s3, SlackStandIn() as slack, contextlib.redirect_stderr(quiet):
            configs = [(tag, path, {}) for tag, path in models.items()]
            colds = worker_cold(configs, slack, s3, questions, runs, work)
            warm = warm_predict({tag: path / "model.onnx" for tag, path in models.items()}, questions, 5000)
    finally:
        quiet.close()
    return {tag: {"cold": colds[tag], "warm": warm[tag]} for tag in models}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--scales", default=DEFAULT_SCALES, help=f"TICKETSxTEAMS,… (default {DEFAULT_SCALES})"
    )
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--work", type=Path, help="keep tickets and models here (default: a temp folder)")
    parser.add_argument("--runs", type=int, default=5, help="worker cold starts per scale (default 5)")
    args = parser.parse_args(argv)
    if not args.csv.is_file():
        print(f"bench.scale: {args.csv} not found (needs ../shared/data)")
        return 1
    scales = [Scale.parse(text) for text in args.scales.split(",")]
    with tempfile.TemporaryDirectory(prefix="whoknows-bench-scale-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        trained: dict[str, dict[str, Any]] = {}
        models: dict[str, Path] = {}
        for scale in scales:
            tag = f"{scale.tickets // 1000}kx{scale.teams}"
            tickets = tickets_file(scale, args.csv, work)
            models[tag] = work / f"model-{tag}"
            trained[tag] = train(tickets, models[tag])
            t = trained[tag]
            print(
                f"{tag}: trained in {t['seconds'] / 60:.1f} min, peak {t['peak_tree_mb']:.0f} MB, "
                f"model {t['model_bytes'] / 1e6:.1f} MB",
                flush=True,
            )
        served = serve(models, args.runs, work)
    results = {tag: trained[tag] | {"serving": served[tag]} for tag in models}
    report(scales, results)
    write_results("scale", {"targets": TARGETS, "scales": results})
    return 0


def _figures(result: dict[str, Any]) -> dict[str, float]:
    cold, warm = result["serving"]["cold"], result["serving"]["warm"]
    return {
        "train min": result["seconds"] / 60,
        "train peak GB": result["peak_tree_mb"] / 1024,
        "terms (k)": result["vocabulary"] / 1000,
        "model MB": result["model_bytes"] / 1e6,
        "index MB": result["index_bytes"] / 1e6,
        "worker cold ms (p50)": cold["spawn_to_answer_ms"]["p50"],
        "worker RSS MB (max)": cold["maxrss_mb"]["max"],
        "warm rank us (p50)": warm["rank_us"]["p50"],
        "top-1 ticket": result["top1_ticket"],
        "top-1 summary": result["top1"]["summary as written"],
        'top-1 "who knows …?"': result["top1"]['lower case "who knows about …?"'],
        **{
            f"fitting bar's end foretold at {at} (error %)": 100 * error
            for at, error in result.get("eta", {}).get("error_at", {}).items()
            if at in ("25%", "50%")
        },
    }


def report(scales: list[Scale], results: dict[str, dict[str, Any]]) -> None:
    tags = list(results)
    figures = {tag: _figures(results[tag]) for tag in tags}
    at_target_scale = (scales[-1].tickets, scales[-1].teams) == (300_000, 100)  # the targets' scale
    targets = {
        "train min": TARGETS["train_minutes"],
        "train peak GB": TARGETS["train_peak_gb"],
        "model MB": TARGETS["model_mb"],
        "worker cold ms (p50)": TARGETS["worker_cold_ms"],
        "worker RSS MB (max)": TARGETS["worker_maxrss_mb"],
        "warm rank us (p50)": TARGETS["rank_p50_us"],
    }
    growth_header = [f"x per doubling {a}->{b}" for a, b in itertools.pairwise(tags)]
    rows = []
    for name in figures[tags[0]]:
        values = [figures[tag][name] for tag in tags]
        growth = [
            ""
            if name.startswith("fitting bar")  # an error, not a size: it does not grow
            else per_doubling(values[i], values[i + 1], scales[i + 1].tickets / scales[i].tickets)
            for i in range(len(tags) - 1)
        ]
        target = targets.get(name)
        rows.append(
            (
                name,
                *values,
                *growth,
                "" if target is None else target,
                "" if target is None or not at_target_scale else verdict(values[-1], target),
            )
        )
    print_table(
        f"scale ({', '.join(str(s) for s in scales)}; targets are for 300k x 100)",
        ["measure", *tags, *growth_header, "target", "verdict"],
        rows,
    )


if __name__ == "__main__":
    sys.exit(main())
