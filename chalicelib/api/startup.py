"""Lambda's init phase for the API function (called from `chalicelib.lambda_init`).

The settings, the signing secret (an SSM call when it is kept there), the Lambda client and the
route modules, so the first request after a cold start acks without them. Best effort: a failure is
met again, and reported, by the first request.
"""

from __future__ import annotations

from chalicelib import logs
from chalicelib.api.dispatch import LambdaDispatcher
from chalicelib.api.runtime import get_runtime

_log = logs.get_logger(__name__)


def init() -> None:
    try:
        from chalicelib.api import routes  # noqa: F401  (app.py imports it at the first request)

        runtime = get_runtime()
        runtime.settings.signing_secret.get()
        if isinstance(runtime.dispatcher, LambdaDispatcher):
            runtime.dispatcher.connect()
    except Exception as error:
        logs.warning(_log, "warm_up_failed", error=logs.error_text(error))
