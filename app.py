"""whoknows on AWS Chalice: the Slack routes (the API function) and the worker function.

Thin on purpose: each route hands the raw body and headers to chalicelib.api.routes and returns what
it says; the worker hands its event to chalicelib.worker.handler. Both are imported inside the
functions that use them, so each Lambda function loads only its own side (the worker never serves a
route; the API function never loads numpy or onnxruntime: tests/test_app.py checks it). The last
line runs Lambda's init phase for whichever function this container is (chalicelib.lambda_init).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from chalice import Chalice, Response

from chalicelib import lambda_init

if TYPE_CHECKING:
    from chalicelib.api.routes import Reply

app = Chalice(app_name="whoknows")

_JSON = {"Content-Type": "application/json"}


def _respond(reply: Reply) -> Response:
    if reply.body == "":
        return Response(body="", status_code=reply.status)
    return Response(body=json.dumps(reply.body), status_code=reply.status, headers=_JSON)


def _request_id() -> str | None:
    context = getattr(app.current_request, "lambda_context", None)
    return getattr(context, "aws_request_id", None)


@app.route("/slack/commands", methods=["POST"], content_types=["application/x-www-form-urlencoded"])
def slash_command() -> Response:
    from chalicelib.api import routes

    request = app.current_request
    return _respond(routes.slash_command(request.raw_body, request.headers, _request_id()))


@app.route("/slack/events", methods=["POST"], content_types=["application/json"])
def slack_events() -> Response:
    from chalicelib.api import routes

    request = app.current_request
    return _respond(routes.events(request.raw_body, request.headers, _request_id()))


@app.route("/slack/interactions", methods=["POST"], content_types=["application/x-www-form-urlencoded"])
def slack_interactions() -> Response:
    from chalicelib.api import routes

    request = app.current_request
    return _respond(routes.interactions(request.raw_body, request.headers, _request_id()))


@app.lambda_function(name="worker")
def worker(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Invoked asynchronously with a job (chalicelib.jobs.Job.to_dict())."""
    from chalicelib.worker.handler import run_job

    # The context too: its remaining time bounds the job's in-progress idempotency claim.
    return run_job(event, getattr(context, "aws_request_id", None), context=context)


lambda_init.init_this_function()
