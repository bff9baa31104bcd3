"""Lambda's init phase for the worker function (called from `chalicelib.lambda_init`).

AWS's advice is to initialise outside the handler, and the init phase runs with more CPU than a
small function's invocations get. So the first job finds everything it needs ready, in this order:
the settings and the S3 client, then the model's load on its own thread (`ModelHolder.start_loading`);
while its reads wait on the network, this thread builds the DynamoDB client, imports onnxruntime and
numpy, slack_sdk's HTTP clients and the TLS context, and reads the bot token; then it waits for the
model. Nothing here is required: a failure is logged and left to the first job, which meets it
again and tells the user as usual.
"""

from __future__ import annotations

from chalicelib import logs
from chalicelib.worker.handler import get_worker

_log = logs.get_logger(__name__)


def init() -> None:
    timings = logs.Timings()
    try:
        with timings.measure("warm_up"):
            worker = get_worker()  # the model's load is now under way on its thread
            import chalicelib.model.predictor  # noqa: F401  (onnxruntime and numpy)
            from chalicelib.slack.post import post_to_response_url  # noqa: F401  (slack_sdk's clients)
            from chalicelib.slack.tls import tls_context

            tls_context()  # OpenSSL reads the CA bundle once, for every post
            with timings.measure("bot_token"):  # @-mention answers need it: an SSM call if kept there
                worker.settings.bot_token.get()
            worker.holder.get(timings)
    except Exception as error:
        logs.warning(_log, "warm_up_failed", error=logs.error_text(error), **timings)
        return
    logs.info(_log, "warm_up_done", **timings)
