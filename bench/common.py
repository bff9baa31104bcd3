"""Shared helpers for the benchmarks: percentiles, an aligned table, JSON results, subprocess timing."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
PYTHON = sys.executable


def percentiles(samples: Sequence[float], points: Sequence[int] = (50, 90, 99)) -> dict[str, float]:
    """Nearest-rank percentiles (plus min, mean, max) of `samples`, in the samples' unit."""
    ordered = sorted(samples)
    n = len(ordered)
    out = {"n": n, "min": ordered[0], "mean": statistics.fmean(ordered)}
    for p in points:
        out[f"p{p}"] = ordered[min(n - 1, max(0, -(-p * n // 100) - 1))]
    out["max"] = ordered[-1]
    return out


def fmt(value: Any) -> str:
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 1:
            return f"{value:.2f}"
        return f"{value:.4f}"
    return str(value)


def print_table(title: str, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[str(h) for h in header], *[[fmt(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    line = "  ".join("-" * w for w in widths)
    print(f"\n{title}\n{line}")
    for index, row in enumerate(cells):
        print(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if index == 0:
            print(line)


def verdict(value: float, target: float) -> str:
    return "meets" if value <= target else "MISSES"


def calibration_ms(repeats: int = 5) -> float:
    """The median time of a fixed pure-Python loop: the machine's speed drifts by up to ±40 % between
    minutes, so each result records how fast the machine was when it was written."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        total = 0
        for i in range(1_000_000):
            total += i
        times.append((time.perf_counter() - start) * 1e3)
    return round(statistics.median(times), 1)


def environment() -> dict[str, Any]:
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "calibration_ms": calibration_ms(),
    }


def write_results(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    env = environment()
    tmp.write_text(json.dumps({"benchmark": name, "environment": env, **data}, indent=2) + "\n")
    os.replace(tmp, path)
    print(f"\nwrote {path.relative_to(REPO)} (machine speed: calibration loop {env['calibration_ms']} ms)")
    return path


def run_child(
    args: Sequence[str], env: dict[str, str] | None = None, timeout: float = 300
) -> tuple[float, dict[str, Any]]:
    """Runs `python <args>` from the repo root; returns (wall seconds from spawn to exit, the JSON
    object the child printed on its last stdout line)."""
    start = time.perf_counter()
    done = subprocess.run(
        [PYTHON, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"child {args} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    return wall, (json.loads(lines[-1]) if lines else {})
