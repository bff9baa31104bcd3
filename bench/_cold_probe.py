"""Child process for bench.serving's cold starts, run in a fresh interpreter.

    python -m bench._cold_probe api EVENT_JSON_FILE     # the API function's Lambda entry point
    python -m bench._cold_probe worker JOB_JSON_FILE    # the worker function's Lambda entry point

`api`: imports app and hands one API Gateway proxy event (a signed slash command) to `app.app`, as
the Lambda runtime does; the job goes to a do-nothing dispatcher (the async Lambda invoke cannot run
here, and local mode would run the worker in this process). `worker`: imports app and calls the
worker handler with one job. Started by bench.serving as Lambda starts the worker (its function
name in AWS_LAMBDA_FUNCTION_NAME), the import runs the init-phase warm-up, which fetches the model
from S3 (moto) and loads it; the handler then claims the job, predicts and posts to the Slack
stand-in. Prints one JSON line with in-process timings, the garbage collector's passes and
their time, and the peak RSS (VmHWM; ru_maxrss is inherited from the parent on Linux, see
bench.rss.peak_rss_kb).
"""

from __future__ import annotations

import time

_T0 = time.perf_counter()

import gc  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402

from bench.rss import peak_rss_kb  # noqa: E402


class CollectorPasses:
    """Counts the cyclic garbage collector's passes and the time they take (gc.callbacks)."""

    def __init__(self) -> None:
        self.passes = 0
        self.seconds = 0.0
        self._started = 0.0
        gc.callbacks.append(self._observe)

    def _observe(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.passes += 1
            self.seconds += time.perf_counter() - self._started


_COLLECTOR = CollectorPasses()


class _Context:
    aws_request_id = "bench-cold-0001"
    function_name = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


class NullDispatcher:
    """Stands in for the async Lambda invoke, which cannot run here: the job goes nowhere."""

    def dispatch(self, job: object) -> None:
        return None


def main() -> None:
    mode, payload_file = sys.argv[1:3]
    with open(payload_file) as handle:
        payload = json.load(handle)
    t_import = time.perf_counter()
    import app

    t_imported = time.perf_counter()
    if mode == "api":
        from chalicelib.api import runtime as api_runtime

        api_runtime.reset(dispatcher=NullDispatcher())
        response = app.app(payload, _Context())
        ok = response.get("statusCode") == 200 and "ephemeral" in response.get("body", "")
    else:
        # Nothing imported ahead: the worker overlaps its imports (numpy, onnxruntime) with network
        # waits, so importing them here first would measure a different cold start.
        result = app.worker(payload, _Context())
        ok = result.get("outcome") == "answered"
    t_done = time.perf_counter()
    print(
        json.dumps(
            {
                "mode": mode,
                "ok": ok,
                "import_app_s": t_imported - t_import,
                "handle_s": t_done - t_imported,
                "script_total_s": t_done - _T0,
                "maxrss_kb": peak_rss_kb(),
                "ru_maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                "modules": len(sys.modules),
                "numpy_loaded": "numpy" in sys.modules,
                "gc_passes": _COLLECTOR.passes,
                "gc_ms": _COLLECTOR.seconds * 1e3,
            }
        )
    )


if __name__ == "__main__":
    main()
