"""Lambda's init phase: which function a container runs, and that its start-up runs without
garbage-collection passes and leaves what it built frozen, with collection back on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.lambda_init import function_role
from tests.support.serving import base_env

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("environ", "role"),
    [
        ({}, None),
        ({"WORKER_FUNCTION_NAME": "whoknows-dev-worker"}, None),
        ({"AWS_LAMBDA_FUNCTION_NAME": "whoknows-dev", "WORKER_FUNCTION_NAME": "whoknows-dev-worker"}, "api"),
        ({"AWS_LAMBDA_FUNCTION_NAME": "whoknows-dev"}, "api"),
        (
            {
                "AWS_LAMBDA_FUNCTION_NAME": "whoknows-dev-worker",
                "WORKER_FUNCTION_NAME": "whoknows-dev-worker",
            },
            "worker",
        ),
    ],
)
def test_function_role(environ: dict[str, str], role: str | None) -> None:
    assert function_role(environ) == role


_PROBE = """
import gc, json
from chalicelib.lambda_init import init_this_function
passes = []
gc.callbacks.append(lambda phase, info: phase == "stop" and passes.append(info["generation"]))
before = gc.get_freeze_count()
init_this_function()
print(json.dumps({"passes": len(passes), "frozen": gc.get_freeze_count() - before, "on": gc.isenabled()}))
"""


def _init_phase(env: dict[str, str]) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={"PATH": os.environ["PATH"], **env},
    )
    return json.loads(done.stdout)


def test_the_worker_init_phase_runs_without_collection_and_freezes_what_it_built(
    tmp_path: Path, sample_model_dir: Path
) -> None:
    env = {
        **base_env(tmp_path, MODEL_URI=str(sample_model_dir)),
        "AWS_LAMBDA_FUNCTION_NAME": "whoknows-dev-worker",
        "WORKER_FUNCTION_NAME": "whoknows-dev-worker",
    }
    outcome = _init_phase(env)
    # onnxruntime, numpy, slack_sdk and the model: tens of thousands of objects, none collected
    assert outcome["passes"] == 0
    assert isinstance(outcome["frozen"], int) and outcome["frozen"] > 0
    assert outcome["on"] is True


def test_outside_lambda_the_init_phase_does_nothing(tmp_path: Path) -> None:
    outcome = _init_phase(base_env(tmp_path))
    assert outcome == {"passes": 0, "frozen": 0, "on": True}


def test_the_workers_modules_leave_numpy_and_onnxruntime_to_the_model_load() -> None:
    """They are imported while the model's reads wait on the network (worker/startup.py); a module
    that imported them at the top would put ~150 ms before the load even starts."""
    code = (
        "import sys\n"
        "import chalicelib.worker.startup, chalicelib.worker.worker, chalicelib.model.answer\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('numpy', 'onnxruntime')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
