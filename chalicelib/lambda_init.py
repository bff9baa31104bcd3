"""Lambda's init phase, in one place: app.py's last line calls `init_this_function()`.

A container runs either the API function or the worker (the same bundle, told apart by
AWS_LAMBDA_FUNCTION_NAME against WORKER_FUNCTION_NAME). Each has a small start-up module that
builds what its first request needs (`chalicelib.api.startup`, `chalicelib.worker.startup`).
Outside Lambda (chalice local, tests, the demo) nothing runs here: settings and clients are built at
the first request, so tests can set the environment first.

Garbage collection is off while the init phase builds what the process keeps for its whole life
(~94,000 objects in a worker holding its model, of which a few hundred are garbage), then
`gc.freeze()` moves it out of later collections: the collector neither slows the cold start with
dozens of passes over it nor rescans it inside a later request (docs/performance.md).
"""

from __future__ import annotations

import gc
import os
from collections.abc import Mapping
from typing import Literal


def function_role(environ: Mapping[str, str]) -> Literal["api", "worker"] | None:
    """Which of the two functions this Lambda container runs; None outside Lambda."""
    function = environ.get("AWS_LAMBDA_FUNCTION_NAME")
    if not function:
        return None
    return "worker" if function == environ.get("WORKER_FUNCTION_NAME") else "api"


def init_this_function(environ: Mapping[str, str] = os.environ) -> None:
    role = function_role(environ)
    if role is None:
        return
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        if role == "worker":
            from chalicelib.worker import startup
        else:
            from chalicelib.api import startup  # type: ignore[no-redef]
        startup.init()
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()
