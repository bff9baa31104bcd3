"""Worker cold start: this checkout against another revision, run by run in turn.

The build machine's speed drifts by up to ±40 % between minutes, so two cold-start figures taken minutes
apart cannot show a 10 % change. Here bench.serving's (d) probe runs alternately from a git
worktree of `--baseline` and from this checkout, against one moto S3 server and one Slack
stand-in, so drift hits both alike. Both trees use this checkout's probe (`bench/_cold_probe.py`,
`bench/rss.py`) and are byte-compiled first, as the bundle ships them.

    python -m bench.cold_ab --baseline REV [--model DIR] [--runs 12] [--idempotency]

Without --model the embedded sample is trained first. --idempotency sets IDEMPOTENCY_TABLE, as
deployed (the job is claimed in moto's DynamoDB first). Prints a table, writes results/cold_ab.json
(cold_ab-idempotency.json).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from bench.common import REPO, percentiles, print_table, write_results
from bench.serving import (
    ProbeFailed,
    cold_worker_run,
    compile_as_bundled,
    idempotency_env,
    local_aws,
    publish_model,
    sample_questions,
    serving_env,
)


def _worktree(revision: str, where: Path) -> Path:
    tree = where / "baseline"
    subprocess.run(["git", "worktree", "add", "--detach", str(tree), revision], cwd=REPO, check=True)
    for probe in ("_cold_probe.py", "rss.py"):
        shutil.copy2(REPO / "bench" / probe, tree / "bench" / probe)
    return tree


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cold_ab", description=__doc__.split("\n")[0])
    parser.add_argument("--baseline", required=True, help="a git revision to compare with this checkout")
    parser.add_argument("--model", type=Path, help="a trained model folder (default: train the sample)")
    parser.add_argument("--runs", type=int, default=12, help="cold starts per tree")
    parser.add_argument("--idempotency", action="store_true", help="claim each job in DynamoDB, as deployed")
    args = parser.parse_args(argv)

    from export.sample import SAMPLE_TICKETS
    from export.train import train
    from tests.support.slack_standin import SlackStandIn

    with tempfile.TemporaryDirectory(prefix="whoknows-bench-cold-ab-") as tmp:
        work = Path(tmp)
        model = args.model
        if model is None:
            model = work / "sample-model"
            train(SAMPLE_TICKETS, model, min_tickets_per_team=5, progress=False)
        trees = {"baseline": _worktree(args.baseline, work), "this checkout": REPO}
        try:
            for tree in trees.values():
                compile_as_bundled(tree)
            with local_aws(work) as s3, SlackStandIn() as slack:
                # A real model's teams are not the sample directory's: no directory, as in (d).
                extra = {"TEAM_DIRECTORY": ""} if args.model else {}
                env = {**serving_env(publish_model(model, s3, "ab"), work, slack.host, **extra), **s3}
                if args.idempotency:
                    env.update(idempotency_env(s3))
                questions = sample_questions()
                spawn_to_answer: dict[str, list[float]] = {name: [] for name in trees}
                gc_ms: dict[str, list[float]] = {name: [] for name in trees}
                cpu_ms: dict[str, list[float]] = {name: [] for name in trees}
                for i in range(args.runs * len(trees)):
                    name = list(trees)[i % len(trees)]
                    try:
                        answered, _, child = cold_worker_run(
                            trees[name], env, questions[i % len(questions)], slack, work, f"ab-{i}"
                        )
                    except ProbeFailed as failure:  # e.g. a baseline with another normaliser version
                        print(f"bench.cold_ab: the {name} tree's worker did not answer: {failure}")
                        return 1
                    spawn_to_answer[name].append(answered)
                    gc_ms[name].append(child["gc_ms"])
                    cpu_ms[name].append(child["cpu_ms"])
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(trees["baseline"])], cwd=REPO, check=False
            )

    stats = {name: percentiles(values) for name, values in spawn_to_answer.items()}
    collector = {name: percentiles(values) for name, values in gc_ms.items()}
    cpu = {name: percentiles(values) for name, values in cpu_ms.items()}
    base, this = stats["baseline"]["p50"], stats["this checkout"]["p50"]
    rows: list[tuple[Any, ...]] = [
        (
            f"{name} ({args.baseline if name == 'baseline' else 'working tree'})",
            s["p50"],
            s["min"],
            s["max"],
            cpu[name]["p50"],
            collector[name]["p50"],
        )
        for name, s in stats.items()
    ]
    title = "worker cold start, spawn -> answer posted" + (" (idempotency table)" if args.idempotency else "")
    print_table(title, ("tree", "p50 ms", "min ms", "max ms", "CPU p50 ms", "gc p50 ms"), rows)
    print(f"median change: {this - base:+.0f} ms ({(this - base) / base:+.1%})")
    write_results(
        "cold_ab-idempotency" if args.idempotency else "cold_ab",
        {
            "baseline": args.baseline,
            "model": str(args.model or "embedded sample"),
            "idempotency": args.idempotency,
            "runs_per_tree": args.runs,
            "spawn_to_answer_ms": stats,
            "cpu_ms": cpu,
            "gc_ms": collector,
            "median_change_ms": this - base,
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
