"""whoknows on AWS Chalice: the Slack routes (the API function) and the worker function.

Thin on purpose: each route hands the raw body and headers to chalicelib.routes and returns what it
says. Settings are read at the first request, not at import, so tests can set the environment first.
This module must never import numpy or onnxruntime, except in the worker function on Lambda
(tests/test_app.py checks it in a subprocess).
"""

from __future__ import annotations

import json
import os
from typing import Any

from chalicelib import gc_hold

gc_hold.hold()  # released at the end of this module, after the imports and Lambda's warm-up

_function = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")  # set by Lambda, never locally
_is_worker = bool(_function) and _function == os.environ.get("WORKER_FUNCTION_NAME")
if _is_worker:
    from chalicelib import cold_load

    cold_load.begin()  # first: the imports below then overlap the model's reads and load

from chalice import Chalice, Response  # noqa: E402

if not _is_worker:  # the worker function never serves a route: it skips their modules (~12-20 ms)
    from chalicelib import routes

app = Chalice(app_name="whoknows")

if _is_worker:
    from chalicelib.answer import warm_up  # the worker: imports, clients and model, before any job

    warm_up()
elif _function:
    routes.warm_up()  # the API function: settings, signing secret, Lambda client, before any request

# What the imports and the warm-up built lives as long as the process: built without collection
# passes and then frozen out of later ones (chalicelib.gc_hold), whose full passes had re-scanned it
# in whichever request they landed: ~7 ms after the API function's imports, ~29 ms in a worker
# holding its model (this VM).
gc_hold.release()

_JSON = {"Content-Type": "application/json"}


def _respond(reply: routes.Reply) -> Response:
    if reply.body == "":
        return Response(body="", status_code=reply.status)
    return Response(body=json.dumps(reply.body), status_code=reply.status, headers=_JSON)


def _request_id() -> str | None:
    context = getattr(app.current_request, "lambda_context", None)
    return getattr(context, "aws_request_id", None)


@app.route("/slack/commands", methods=["POST"], content_types=["application/x-www-form-urlencoded"])
def slash_command() -> Response:
    request = app.current_request
    return _respond(routes.slash_command(request.raw_body, request.headers, _request_id()))


@app.route("/slack/events", methods=["POST"], content_types=["application/json"])
def slack_events() -> Response:
    request = app.current_request
    return _respond(routes.events(request.raw_body, request.headers, _request_id()))


@app.route("/slack/interactions", methods=["POST"], content_types=["application/x-www-form-urlencoded"])
def slack_interactions() -> Response:
    request = app.current_request
    return _respond(routes.interactions(request.raw_body, request.headers, _request_id()))


@app.lambda_function(name="worker")
def worker(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Invoked asynchronously with a job (chalicelib.dispatch.Job.to_dict())."""
    from chalicelib.answer import run_job  # onnxruntime loads here, in the worker only

    # The context too: its remaining time bounds the job's in-progress idempotency claim.
    return run_job(event, getattr(context, "aws_request_id", None), context=context)
