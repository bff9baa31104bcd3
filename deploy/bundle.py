"""Builds the Lambda bundle: `chalice package` + merge template, then trims the zip and checks its budget.

    python -m deploy.bundle --stage dev            # writes build/dev/{deployment.zip,sam.json}

Trimming removes only what the running bot cannot import: test suites, type stubs, caches, numpy's
build/f2py tooling and onnxruntime's offline tools (quantization, transformers, tools, datasets).
Every rule is a glob listed in TRIM_GLOBS and printed with what it removed; a rule that matches
nothing is reported, so a new onnxruntime layout shows up instead of silently shipping bloat.
The one native library removed (onnxruntime's C-API libonnxruntime.so, a copy of what the Python
module links statically) is dropped only if the Python extension does not mention it.
Then the bytecode of every module the two functions import is compiled into the zip (PEP 552
unchecked-hash .pyc): Lambda's /var/task is read-only, so without it Python compiles those modules
from source on every cold start (measured: ~150-250 ms on the API function's import, ~250 ms more
on the worker's; `python -m bench.bundle_imports`).
tests/deploy/test_bundle.py then imports and runs the trimmed bundle in a clean interpreter.

Budget (exit status 2 when exceeded): zip <= 30 MB, unzipped <= 100 MB, no sklearn/scipy.
"""

from __future__ import annotations

import argparse
import fnmatch
import importlib.util
import json
import os
import py_compile
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MERGE_TEMPLATE = REPO / "deploy" / "merge-template.json"
MB = 1024 * 1024
MAX_ZIP_BYTES = 30 * MB
MAX_UNZIPPED_BYTES = 100 * MB
FORBIDDEN_TOP_LEVEL = ("sklearn", "scipy", "scikit_learn", "skl2onnx", "onnx")
"""Training-only packages: their presence means requirements.txt pulled in the export side."""

TRIM_GLOBS = (
    "*/__pycache__/*",
    "*.pyc",
    "*.pyi",
    "*/tests/*",
    "*/testing/_private/*",
    "numpy/f2py/*",
    "numpy/_pyinstaller/*",
    "numpy/*.pxd",
    "numpy/_core/include/*",
    "numpy/random/_examples/*",
    "onnxruntime/tools/*",
    "onnxruntime/transformers/*",
    "onnxruntime/quantization/*",
    "onnxruntime/datasets/*",
    "onnxruntime/backend/*",
    "onnxruntime/ThirdPartyNotices.txt",
)
DEFENSIVE = {"*/__pycache__/*", "*.pyc"}
"""Rules that usually match nothing (chalice builds without bytecode); not reported when unused."""
API_IMPORTS = ("app", "chalicelib.api.routes")
"""What the API function imports on a cold start (the routes in its init phase)."""
WORKER_IMPORTS = ("chalicelib.worker.startup", "chalicelib.model.predictor", "chalicelib.slack.post")
"""What the worker imports on top of `app` in its init phase."""
RUNTIME_IMPORTS = API_IMPORTS + WORKER_IMPORTS
"""Their modules from the bundle get precompiled bytecode. A module missing here still works,
compiled from source when first imported."""
LAMBDA_RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six.py")
"""What the Lambda Python runtime ships besides the standard library (so the bundle leaves it out)."""
NATIVE_DUPLICATE = "onnxruntime/capi/libonnxruntime.so*"
PYBIND_MODULE = "onnxruntime/capi/onnxruntime_pybind11_state*.so"


@dataclass
class Report:
    zip_before: int = 0
    unzipped_before: int = 0
    zip_after: int = 0
    unzipped_after: int = 0
    removed: dict[str, tuple[int, int]] = field(default_factory=dict)
    """glob -> (files, uncompressed bytes)"""
    compiled: int = 0
    """.pyc files added for the modules a cold start imports"""
    problems: list[str] = field(default_factory=list)


def package(stage: str, out_dir: Path) -> None:
    env = {**os.environ}
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    if out_dir.exists():
        shutil.rmtree(out_dir)
    chalice = Path(sys.executable).with_name("chalice")
    command = [
        str(chalice) if chalice.exists() else "chalice",
        "package",
        "--stage",
        stage,
        "--merge-template",
        str(MERGE_TEMPLATE),
        str(out_dir),
    ]
    subprocess.run(command, cwd=REPO, env=env, check=True)


def _sizes(path: Path) -> tuple[int, int]:
    with zipfile.ZipFile(path) as archive:
        return path.stat().st_size, sum(info.file_size for info in archive.infolist())


def _rule_for(name: str) -> str | None:
    return next((glob for glob in TRIM_GLOBS if fnmatch.fnmatch(name, glob)), None)


def trim(zip_path: Path, report: Report) -> None:
    """Rewrites zip_path without the TRIM_GLOBS files (and the duplicate native library, if safe)."""
    with zipfile.ZipFile(zip_path) as source:
        infos = source.infolist()
        pybind = [i for i in infos if fnmatch.fnmatch(i.filename, PYBIND_MODULE)]
        drop_native = bool(pybind) and all(b"libonnxruntime.so" not in source.read(i) for i in pybind)
        counts = {glob: [0, 0] for glob in (*TRIM_GLOBS, NATIVE_DUPLICATE)}
        trimmed = zip_path.with_suffix(".trimmed.zip")
        with zipfile.ZipFile(trimmed, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
            for info in infos:
                rule = _rule_for(info.filename)
                if rule is None and drop_native and fnmatch.fnmatch(info.filename, NATIVE_DUPLICATE):
                    rule = NATIVE_DUPLICATE
                if rule is not None:
                    counts[rule][0] += 1
                    counts[rule][1] += info.file_size
                    continue
                target.writestr(info, source.read(info), zipfile.ZIP_DEFLATED, 9)
    os.replace(trimmed, zip_path)
    report.removed = {glob: (files, size) for glob, (files, size) in counts.items()}
    if not drop_native:
        report.removed.pop(NATIVE_DUPLICATE)


def lambda_runtime_folder(folder: Path) -> Path:
    """`folder` holding only LAMBDA_RUNTIME_PACKAGES, linked from this venv: what an unzipped bundle
    finds beside it on Lambda, for running it in a clean interpreter."""
    import boto3

    site = Path(boto3.__file__).resolve().parent.parent
    folder.mkdir(parents=True, exist_ok=True)
    for name in LAMBDA_RUNTIME_PACKAGES:
        (folder / name).symlink_to(site / name)
    return folder


_LIST_IMPORTED = """
import importlib, json, sys
bundle = sys.argv[1]
for name in sys.argv[2:]:
    importlib.import_module(name)
files = {getattr(m, "__file__", None) or "" for m in list(sys.modules.values())}
print(json.dumps(sorted(f for f in files if f.startswith(bundle) and f.endswith(".py"))))
"""


def _imported_sources(root: Path) -> list[Path]:
    """The bundle's .py files that RUNTIME_IMPORTS load, found by importing them in a clean
    interpreter with the bundle first on the path (and this venv after it, standing in for the
    boto3 the Lambda runtime provides)."""
    runtime_site = [p for p in sys.path if p.endswith("site-packages")]
    env = {
        "PYTHONPATH": os.pathsep.join([str(root), *runtime_site]),
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    done = subprocess.run(
        [sys.executable, "-S", "-c", _LIST_IMPORTED, str(root), *RUNTIME_IMPORTS],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return [Path(name) for name in json.loads(done.stdout.strip().splitlines()[-1])]


def add_bytecode(zip_path: Path, report: Report) -> None:
    """Adds __pycache__/*.pyc for the modules a cold start imports. Unchecked-hash pycs are used
    without comparing them to the source's mtime, which zip extraction does not preserve; the
    bundle never changes once built, so they cannot go stale. Built by this interpreter, whose
    version is the runtime `chalice package` chose."""
    with tempfile.TemporaryDirectory(prefix="whoknows-bundle-") as work:
        root = Path(work)
        with zipfile.ZipFile(zip_path) as archive:
            archive.extractall(root)
        sources = _imported_sources(root)
        with zipfile.ZipFile(zip_path, "a", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
            for source in sources:
                cached = Path(importlib.util.cache_from_source(str(source)))
                py_compile.compile(
                    str(source),
                    cfile=str(cached),
                    dfile=str(source.relative_to(root)),
                    doraise=True,
                    invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
                )
                archive.write(cached, cached.relative_to(root).as_posix())
        report.compiled = len(sources)


def check_budget(zip_path: Path, report: Report, max_zip: int, max_unzipped: int) -> None:
    report.zip_after, report.unzipped_after = _sizes(zip_path)
    if report.zip_after > max_zip:
        report.problems.append(f"zip is {report.zip_after / MB:.1f} MB, budget {max_zip / MB:.0f} MB")
    if report.unzipped_after > max_unzipped:
        report.problems.append(
            f"unzipped is {report.unzipped_after / MB:.1f} MB, budget {max_unzipped / MB:.0f} MB"
        )
    with zipfile.ZipFile(zip_path) as archive:
        tops = {name.split("/")[0].split("-")[0].lower() for name in archive.namelist()}
    forbidden = sorted(tops & set(FORBIDDEN_TOP_LEVEL))
    if forbidden:
        report.problems.append(f"training-only packages in the bundle: {', '.join(forbidden)}")


def build(
    stage: str, out_dir: Path, max_zip: int = MAX_ZIP_BYTES, max_unzipped: int = MAX_UNZIPPED_BYTES
) -> Report:
    package(stage, out_dir)
    zip_path = out_dir / "deployment.zip"
    report = Report()
    report.zip_before, report.unzipped_before = _sizes(zip_path)
    trim(zip_path, report)
    add_bytecode(zip_path, report)
    check_budget(zip_path, report, max_zip, max_unzipped)
    return report


def print_report(report: Report, say=print) -> None:
    say(f"{'trim rule':<42} {'files':>6} {'MB':>8}")
    for glob, (files, size) in report.removed.items():
        note = "  (matched nothing: layout changed?)" if files == 0 and glob not in DEFENSIVE else ""
        say(f"{glob:<42} {files:>6} {size / MB:>8.2f}{note}")
    say(f"bytecode compiled for {report.compiled} modules a cold start imports")
    say(
        f"before trim: zip {report.zip_before / MB:.1f} MB, unzipped {report.unzipped_before / MB:.1f} MB\n"
        f"after trim:  zip {report.zip_after / MB:.1f} MB, unzipped {report.unzipped_after / MB:.1f} MB "
        f"(budget {MAX_ZIP_BYTES / MB:.0f} / {MAX_UNZIPPED_BYTES / MB:.0f} MB)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="dev", choices=("dev", "prod"))
    parser.add_argument("--out", type=Path, help="output folder (default build/<stage>)")
    args = parser.parse_args(argv)
    out_dir = args.out or REPO / "build" / args.stage
    try:
        report = build(args.stage, out_dir)
    except subprocess.CalledProcessError as error:
        print(f"chalice package failed (exit {error.returncode}); is PyPI reachable?", file=sys.stderr)
        return 1
    print_report(report)
    if report.problems:
        for problem in report.problems:
            print(f"BUDGET EXCEEDED: {problem}", file=sys.stderr)
        return 2
    print(f"bundle OK: {out_dir / 'deployment.zip'}, template {out_dir / 'sam.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
