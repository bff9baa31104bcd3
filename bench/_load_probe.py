"""Child process for bench.train_export: load one model kind fresh, then time single-question calls.

Usage: python -m bench._load_probe {sklearn|onnx} MODEL_FILE QUESTIONS_JSON
Prints one JSON line: import+load seconds, peak RSS (VmHWM; ru_maxrss too) after load + 100
predictions, per-call latencies.
"""

from __future__ import annotations

import time

_T0 = time.perf_counter()

import json  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402

from bench.rss import peak_rss_kb  # noqa: E402


def main() -> None:
    kind, model_file, questions_file = sys.argv[1:4]
    with open(questions_file) as handle:
        questions = json.load(handle)
    rss_before = peak_rss_kb()
    start = time.perf_counter()
    if kind == "sklearn":
        import joblib

        pipeline = joblib.load(model_file)

        def predict(text: str) -> object:
            return pipeline.predict_proba([text])
    else:
        import onnxruntime  # noqa: F401  (timed on purpose: the worker pays for it)

        from chalicelib.model.predictor import Predictor

        predictor = Predictor(model_file)

        def predict(text: str) -> object:
            return predictor.probabilities([text])

    loaded = time.perf_counter()
    for question in questions[:100]:
        predict(question)
    rss_after_100 = peak_rss_kb()
    ru_maxrss_after_100 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    latencies = []
    for question in questions:
        t = time.perf_counter()
        predict(question)
        latencies.append(time.perf_counter() - t)
    print(
        json.dumps(
            {
                "kind": kind,
                "since_script_start_to_loaded_s": loaded - _T0,
                "import_and_load_s": loaded - start,
                "maxrss_before_import_kb": rss_before,
                "maxrss_after_load_and_100_kb": rss_after_100,
                "ru_maxrss_after_load_and_100_kb": ru_maxrss_after_100,
                "latencies_s": latencies,
            }
        )
    )


if __name__ == "__main__":
    main()
