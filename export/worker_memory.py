"""How much memory the worker needs for a model, from what `train` knows when it writes it.

The worker's peak RSS is the runtime (Python, numpy, onnxruntime, botocore, slack_sdk: `BASE_MB`)
plus what the model becomes in memory: its file's bytes (the graph's weights, held once by
onnxruntime) and, per term, the hash-table entries onnxruntime builds for its word and word-pair
lookups (`TERM_BYTES`); and the ticket index, downloaded and then read into its arrays
(`INDEX_FACTOR` times its file). The constants are fitted to the worker peaks `bench.serving` and
`bench.scale` measure (docs/performance.md#scale).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

BASE_MB = 96.0
TERM_BYTES = 90.0
INDEX_FACTOR = 3.0
HEADROOM = 1.25
"""Recommended memory over the peak of a model switch, for what the estimate misses."""
LAMBDA_MINIMUM_MB = 512
"""The worker's memory in .chalice/config.json: below it, a cold start gets too little CPU."""


@dataclass(frozen=True)
class WorkerMemory:
    expected_peak_mb: float
    recommended_mb: int

    def as_dict(self) -> dict[str, float | int]:
        return {"expected_peak_mb": round(self.expected_peak_mb, 1), "recommended_mb": self.recommended_mb}

    def __str__(self) -> str:
        return (
            f"worker memory: expected peak ~{self.expected_peak_mb:.0f} MB; give the worker function "
            f"lambda_memory_size >= {self.recommended_mb} (.chalice/config.json)"
        )


def worker_memory(model_bytes: int, terms: int, index_bytes: int = 0) -> WorkerMemory:
    """The worker's expected peak with this model, and the memory to give it: a warm worker that
    picks up a newly published model loads it beside the one it serves, so the recommendation
    covers two models at once."""
    model = (model_bytes + TERM_BYTES * terms + INDEX_FACTOR * index_bytes) / 1e6
    peak = BASE_MB + model
    recommended = max(LAMBDA_MINIMUM_MB, 64 * math.ceil((peak + model) * HEADROOM / 64))
    return WorkerMemory(peak, recommended)
