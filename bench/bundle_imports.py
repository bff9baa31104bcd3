"""Benchmark: cold-start imports from the Lambda bundle itself, with and without its bytecode.

Lambda unzips the bundle into a read-only /var/task, so Python cannot cache what it compiles: a
module without a .pyc in the bundle is compiled from source on every cold start. This unzips the
built bundle twice (as built, with the .pyc files deploy/bundle.py adds; and with them removed) and
times, in fresh interpreters that may not write bytecode (`-I -S -B`) with only boto3 and friends
beside the bundle (as the Lambda runtime provides them):

- `import app` and the routes: what the API function's cold start imports before its first request;
- the worker's further imports (its start-up: the worker, the predictor with numpy + onnxruntime,
  posting, the idempotency ledger).

    python -m deploy.bundle --stage dev            # builds build/dev/deployment.zip first
    python -m bench.bundle_imports [--zip build/dev/deployment.zip] [--runs 10]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from bench.common import REPO, percentiles, print_table, write_results
from deploy.bundle import API_IMPORTS, WORKER_IMPORTS, lambda_runtime_folder

_PROBE = """
import importlib, sys, time
sys.path[:0] = [sys.argv[1]]
sys.path.append(sys.argv[2])
api_count = int(sys.argv[3])
api_modules, worker_modules = sys.argv[4 : 4 + api_count], sys.argv[4 + api_count :]
start = time.perf_counter()
for name in api_modules:
    importlib.import_module(name)
api = time.perf_counter()
for name in worker_modules:
    importlib.import_module(name)
worker = time.perf_counter()
print(f"{(api - start) * 1e3} {(worker - api) * 1e3}")
"""


def _unpack(zip_path: Path, target: Path, keep_bytecode: bool) -> int:
    """Extracts the bundle; returns how many .pyc files it kept."""
    kept = 0
    with zipfile.ZipFile(zip_path) as archive:
        for info in archive.infolist():
            if info.filename.endswith(".pyc"):
                if not keep_bytecode:
                    continue
                kept += 1
            archive.extract(info, target)
    return kept


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bundle_imports", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--zip", type=Path, default=REPO / "build" / "dev" / "deployment.zip")
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args(argv)
    if not args.zip.is_file():
        print(
            f"bench.bundle_imports: {args.zip} not found; build it with `python -m deploy.bundle --stage dev`"
        )
        return 1
    python = str(Path(sys.executable).resolve())
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="whoknows-bench-bundle-") as tmp:
        work = Path(tmp)
        runtime = lambda_runtime_folder(work / "lambda-runtime")
        bundles = {}
        for variant, keep in (("with bytecode (as built)", True), ("source only", False)):
            folder = work / ("pyc" if keep else "source")
            pycs = _unpack(args.zip, folder, keep)
            bundles[variant] = (folder, pycs)
        samples: dict[str, list[tuple[float, float]]] = {variant: [] for variant in bundles}
        for _ in range(args.runs):  # alternate, so drift in machine speed hits both alike
            for variant, (folder, _pycs) in bundles.items():
                done = subprocess.run(
                    [
                        *(python, "-I", "-S", "-B", "-c", _PROBE, str(folder), str(runtime)),
                        *(str(len(API_IMPORTS)), *API_IMPORTS, *WORKER_IMPORTS),
                    ],
                    cwd=folder,
                    capture_output=True,
                    text=True,
                    check=True,
                    env={"AWS_DEFAULT_REGION": "us-east-1"},
                )
                api_ms, worker_ms = map(float, done.stdout.split())
                samples[variant].append((api_ms, worker_ms))
        for variant, values in samples.items():
            api = [v[0] for v in values]
            worker = [v[1] for v in values]
            results[variant] = {
                "pyc_files": bundles[variant][1],
                "import_app_ms": percentiles(api),
                "worker_imports_ms": percentiles(worker),
                "total_median_ms": statistics.median(a + w for a, w in values),
            }
    rows = []
    for variant, figures in results.items():
        rows.append(
            (
                variant,
                figures["pyc_files"],
                figures["import_app_ms"]["p50"],
                figures["worker_imports_ms"]["p50"],
                figures["total_median_ms"],
            )
        )
    print_table(
        f"cold-start imports from {args.zip.name}, fresh `python -I -S -B` each, {args.runs} runs (medians)",
        [
            "bundle",
            ".pyc files",
            "API: import app + routes (ms)",
            "worker: further imports (ms)",
            "worker total (ms)",
        ],
        rows,
    )
    write_results("bundle_imports", {"zip": str(args.zip), "runs": args.runs, "variants": results})
    print(json.dumps({k: round(v["total_median_ms"]) for k, v in results.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
