"""Cyclic garbage collection held off while a cold start builds what the process keeps.

A cold worker's imports, AWS clients and model allocate ~94,000 objects that live as long as the
process, and only ~180 that are garbage. The collector, triggered by allocation counts, still ran
124 young and 11 middle-generation passes over them during one cold start: 40-60 ms of it on this
VM (bench.serving (d)). Held off for the cold start, and what it built then frozen out of later
passes (`gc.freeze`), the collector neither slows the cold start nor rescans its survivors in a
later request. Freezing without collecting first keeps the few hundred garbage objects for good:
cheaper than the 30-40 ms a full pass over that heap costs.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

_lock = threading.Lock()
_holders = 0
_was_enabled = False


def hold() -> None:
    """Stops automatic collection until every holder has called `release()`."""
    global _holders, _was_enabled
    with _lock:
        if _holders == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _holders += 1


def release() -> None:
    """The last holder freezes what was built and turns collection back on (if it was on)."""
    global _holders
    with _lock:
        if _holders == 0:
            raise RuntimeError("gc_hold.release() without a matching hold()")
        _holders -= 1
        if _holders == 0:
            gc.freeze()
            if _was_enabled:
                gc.enable()


@contextlib.contextmanager
def held() -> Iterator[None]:
    """`hold()` for the block, `release()` however it ends."""
    hold()
    try:
        yield
    finally:
        release()
