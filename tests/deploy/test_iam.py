"""The IAM policies grant nothing beyond what the code calls, and everything it calls.

What the code calls is derived, not assumed: every AWS API call in chalicelib is found by reading the
source (a `.client("<service>")` anywhere, then every operation of those services, named as
botocore names them, called anywhere). Each call found must have an entry in CALLS below (a new
call without one fails here), and each entry must still be found (a stale one fails too). The entries say
which IAM action the call needs and which function runs it; that set, plus what the Lambda platform
does with the function's own role (PLATFORM), must equal what each role is granted:

- deploy/merge-template.json: the roles CloudFormation creates (chalice package's generated roles
  are replaced by these lists when the template is merged; lists are not merged, they are replaced);
- .chalice/policy-<stage>-<function>.json: what `chalice deploy` would attach instead, with neither
  the DynamoDB tables (idempotency, feedback) nor the dead-letter queue (those exist only in the
  CloudFormation stack), so neither DynamoDB nor SQS may be granted there.

No statement may use "*" as an action or a resource, nor NotAction/NotResource. AWS requires a "*"
resource for some actions (e.g. xray:PutTraceSegments, cloudwatch:PutMetricData); none are used, so
STAR_RESOURCE_REQUIRED is empty and any "*" resource fails.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
CHALICELIB = REPO / "chalicelib"
TEMPLATE = REPO / "deploy" / "merge-template.json"
CHALICE_CONFIG = REPO / ".chalice" / "config.json"

API, WORKER = "api", "worker"


@dataclass(frozen=True)
class Call:
    action: str
    functions: frozenset[str]
    when: str | None = None
    """The setting without which the call is never made (None: always)."""


CALLS: dict[tuple[str, str, str], Call] = {
    # (where, service, client method): what it needs
    ("chalicelib/api/dispatch.py", "lambda", "invoke"): Call("lambda:InvokeFunction", frozenset({API})),
    ("chalicelib/config.py", "ssm", "get_parameter"): Call("ssm:GetParameter", frozenset({API, WORKER})),
    ("chalicelib/model/store.py", "s3", "get_object"): Call("s3:GetObject", frozenset({WORKER})),
    ("chalicelib/worker/idempotency.py", "dynamodb", "put_item"): Call(
        "dynamodb:PutItem", frozenset({WORKER}), "IDEMPOTENCY_TABLE"
    ),
    ("chalicelib/worker/idempotency.py", "dynamodb", "update_item"): Call(
        "dynamodb:UpdateItem", frozenset({WORKER}), "IDEMPOTENCY_TABLE"
    ),
    ("chalicelib/worker/idempotency.py", "dynamodb", "delete_item"): Call(
        "dynamodb:DeleteItem", frozenset({WORKER}), "IDEMPOTENCY_TABLE"
    ),
    ("chalicelib/worker/feedback_store.py", "dynamodb", "update_item"): Call(
        "dynamodb:UpdateItem", frozenset({WORKER}), "FEEDBACK_TABLE"
    ),
}
TABLES = {"IDEMPOTENCY_TABLE": "IdempotencyTable", "FEEDBACK_TABLE": "FeedbackTable"}
"""The setting naming each DynamoDB table, and the template resource it names."""
PLATFORM: dict[str, tuple[frozenset[str], str | None, str]] = {
    # action: (functions, only where this template resource exists, why)
    "logs:CreateLogGroup": (frozenset({API, WORKER}), None, "the runtime writes the function's logs"),
    "logs:CreateLogStream": (frozenset({API, WORKER}), None, "the runtime writes the function's logs"),
    "logs:PutLogEvents": (frozenset({API, WORKER}), None, "the runtime writes the function's logs"),
    "sqs:SendMessage": (
        frozenset({WORKER}),
        "WorkerDeadLetterQueue",
        "Lambda sends a failed async event to the on-failure destination with the worker's role",
    ),
}
STAR_RESOURCE_REQUIRED: frozenset[str] = frozenset()
TEMPLATE_ROLES = {"ApiHandlerRole": API, "WorkerRole": WORKER}
TEMPLATE_FUNCTIONS = {API: "APIHandler", WORKER: "Worker"}
CHALICE_FUNCTIONS = {API: "api_handler", WORKER: "worker"}


# --- what the code calls -------------------------------------------------------------------


@functools.cache
def _operations(service: str) -> frozenset[str]:
    import botocore.session
    from botocore import xform_name

    model = botocore.session.get_session().get_service_model(service)
    return frozenset(xform_name(name) for name in model.operation_names)


def _calls_in(
    sources: dict[str, str], services: set[str], where: str | None = None
) -> set[tuple[str, str, str]]:
    found = set()
    for path, text in sources.items():
        for service in services:
            for operation in _operations(service):
                if re.search(rf"\.{operation}\(", text):
                    found.add((where or path, service, operation))
    return found


def _chalicelib_sources() -> dict[str, str]:
    return {str(path.relative_to(REPO)): path.read_text() for path in sorted(CHALICELIB.rglob("*.py"))}


def calls_in_code() -> set[tuple[str, str, str]]:
    sources = _chalicelib_sources()
    everything = "\n".join(sources.values())
    assert not re.search(r"\.resource\(\s*['\"]", everything), (
        "boto3 resources: extend this test to read them"
    )
    services = set(re.findall(r"\.client\(\s*['\"]([a-z0-9-]+)['\"]", everything))
    return _calls_in(sources, services)


def test_every_aws_call_in_the_code_has_an_entry_and_every_entry_a_call() -> None:
    found = calls_in_code()

    assert found - CALLS.keys() == set(), "AWS calls without an entry in CALLS (add the IAM action they need)"
    assert CALLS.keys() - found == set(), "entries in CALLS whose call is gone from the code"


def test_the_search_finds_what_it_is_meant_to_find() -> None:
    """Guards the guard: a call site shaped like the real ones is seen."""
    sample = {"x.py": 'c = boto3.client("sqs")\nc.send_message(QueueUrl=u, MessageBody=b)\n'}

    assert _calls_in(sample, {"sqs"}) == {("x.py", "sqs", "send_message")}


# --- what the policies grant -------------------------------------------------------------------


@dataclass(frozen=True)
class Grant:
    action: str
    resource: Any


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    statements = document["Statement"]
    return statements if isinstance(statements, list) else [statements]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def grants(document: dict[str, Any]) -> list[Grant]:
    found = []
    for statement in _statements(document):
        assert statement["Effect"] == "Allow", statement
        assert not {"NotAction", "NotResource", "NotPrincipal"} & statement.keys(), statement
        for action in _as_list(statement["Action"]):
            for resource in _as_list(statement["Resource"]):
                found.append(Grant(action, resource))
    return found


def _resource_text(resource: Any) -> str:
    if isinstance(resource, str):
        return resource
    if isinstance(resource, dict) and "Fn::Sub" in resource:
        return resource["Fn::Sub"]
    return json.dumps(resource)  # Fn::GetAtt of a resource in the template: names exactly one thing


def template_policies() -> dict[str, list[Grant]]:
    resources = json.loads(TEMPLATE.read_text())["Resources"]
    policies: dict[str, list[Grant]] = {}
    for role, function in TEMPLATE_ROLES.items():
        for policy in resources[role]["Properties"]["Policies"]:
            policies.setdefault(function, []).extend(grants(policy["PolicyDocument"]))
    return policies


def chalice_policies() -> dict[tuple[str, str], list[Grant]]:
    config = json.loads(CHALICE_CONFIG.read_text())
    policies = {}
    for stage, settings in config["stages"].items():
        for function, name in CHALICE_FUNCTIONS.items():
            policy_file = REPO / ".chalice" / settings["lambda_functions"][name]["iam_policy_file"]
            policies[(stage, function)] = grants(json.loads(policy_file.read_text()))
    return policies


def _template_settings(function: str) -> set[str]:
    resources = json.loads(TEMPLATE.read_text())["Resources"]
    return set(resources[TEMPLATE_FUNCTIONS[function]]["Properties"]["Environment"]["Variables"])


def _chalice_settings(stage: str, function: str) -> set[str]:
    settings = json.loads(CHALICE_CONFIG.read_text())["stages"][stage]
    own = settings["lambda_functions"][CHALICE_FUNCTIONS[function]]
    return set(settings.get("environment_variables", {})) | set(own.get("environment_variables", {}))


def needed(function: str, settings: set[str], resources: set[str]) -> set[str]:
    """The actions `function` needs, given the settings it is deployed with and what exists."""
    actions = {
        call.action
        for call in CALLS.values()
        if function in call.functions and (call.when is None or call.when in settings)
    }
    actions |= {
        action
        for action, (functions, requires, _why) in PLATFORM.items()
        if function in functions and (requires is None or requires in resources)
    }
    return actions


def _all_policies() -> list[tuple[str, list[Grant]]]:
    named = [(f"merge-template {function}", found) for function, found in template_policies().items()]
    named += [
        (f".chalice {stage} {function}", found) for (stage, function), found in chalice_policies().items()
    ]
    return named


@pytest.mark.parametrize(
    ("name", "found"), [pytest.param(*policy, id=policy[0]) for policy in _all_policies()]
)
def test_no_wildcard_actions_or_resources(name: str, found: list[Grant]) -> None:
    for grant in found:
        assert "*" not in grant.action, f"{name}: wildcard action {grant.action}"
        text = _resource_text(grant.resource)
        if text == "*":
            assert grant.action in STAR_RESOURCE_REQUIRED, f"{name}: {grant.action} on every resource"
        if isinstance(grant.resource, dict) and "Fn::GetAtt" in grant.resource:
            continue  # the ARN of one resource of the template
        arn = text.split(":", 5)
        assert len(arn) == 6 and arn[5] not in ("", "*"), f"{name}: {text} names no resource in particular"


def test_template_grants_exactly_what_each_function_calls() -> None:
    resources = set(json.loads(TEMPLATE.read_text())["Resources"])

    for function, found in template_policies().items():
        granted = {grant.action for grant in found}
        wanted = needed(function, _template_settings(function), resources)
        assert granted == wanted, (
            f"{function}: granted but unused {granted - wanted}, used but not granted {wanted - granted}"
        )


def test_chalice_policy_files_grant_exactly_what_each_function_calls() -> None:
    for (stage, function), found in chalice_policies().items():
        granted = {grant.action for grant in found}
        wanted = needed(function, _chalice_settings(stage, function), resources=set())
        unused, missing = granted - wanted, wanted - granted
        assert granted == wanted, (
            f"{stage} {function}: granted but unused {unused}, used but not granted {missing}"
        )


def test_the_idempotency_table_is_the_workers_only() -> None:
    template = json.loads(TEMPLATE.read_text())
    worker_env = template["Resources"]["Worker"]["Properties"]["Environment"]["Variables"]
    table = template["Resources"]["IdempotencyTable"]

    assert worker_env["IDEMPOTENCY_TABLE"] == {"Ref": "IdempotencyTable"}
    assert "IDEMPOTENCY_TABLE" not in _template_settings(API)
    assert table["Properties"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["Properties"]["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert table["Properties"]["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
    assert not [grant for grant in template_policies()[API] if grant.action.startswith("dynamodb:")]


def test_each_tables_calls_are_granted_on_that_table_alone() -> None:
    """The ledger's three writes on the idempotency table, the feedback store's one on its own."""
    granted = {
        (grant.action, json.dumps(grant.resource))
        for grant in template_policies()[WORKER]
        if grant.action.startswith("dynamodb:")
    }
    wanted = {
        (call.action, json.dumps({"Fn::GetAtt": [TABLES[call.when], "Arn"]}))
        for call in CALLS.values()
        if call.action.startswith("dynamodb:") and call.when is not None
    }

    assert granted == wanted
    assert ("dynamodb:UpdateItem", json.dumps({"Fn::GetAtt": ["FeedbackTable", "Arn"]})) in granted


def test_the_feedback_table_is_the_workers_kept_for_the_retention_period_and_recoverable() -> None:
    from chalicelib.config import DEFAULT_FEEDBACK_RETENTION_DAYS
    from chalicelib.worker.feedback_store import EXPIRES_AT, QUESTION_ID, USER_ID

    template = json.loads(TEMPLATE.read_text())
    resources, parameters = template["Resources"], template["Parameters"]
    worker_env = resources["Worker"]["Properties"]["Environment"]["Variables"]
    table = resources["FeedbackTable"]
    properties = table["Properties"]

    assert worker_env["FEEDBACK_TABLE"] == {"Ref": "FeedbackTable"}
    assert worker_env["FEEDBACK_RETENTION_DAYS"] == {"Ref": "FeedbackRetentionDays"}
    assert "FEEDBACK_TABLE" not in _template_settings(API)  # the API function never writes feedback
    assert properties["TableName"] == {"Fn::Sub": "whoknows-${Stage}-feedback"}
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["KeySchema"] == [
        {"AttributeName": QUESTION_ID, "KeyType": "HASH"},
        {"AttributeName": USER_ID, "KeyType": "RANGE"},
    ]
    assert properties["TimeToLiveSpecification"] == {"AttributeName": EXPIRES_AT, "Enabled": True}
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"  # feedback outlives a stack
    assert parameters["FeedbackRetentionDays"]["Default"] == DEFAULT_FEEDBACK_RETENTION_DAYS == 365


def test_questions_are_kept_only_when_the_operator_says_so_and_both_functions_agree() -> None:
    template = json.loads(TEMPLATE.read_text())
    resources = template["Resources"]

    assert template["Parameters"]["StoreFeedbackQuestions"]["Default"] == "false"
    for function in TEMPLATE_FUNCTIONS.values():
        variables = resources[function]["Properties"]["Environment"]["Variables"]
        assert variables["STORE_FEEDBACK_QUESTIONS"] == {"Ref": "StoreFeedbackQuestions"}


def test_the_records_key_and_expiry_attributes_are_the_tables() -> None:
    from chalicelib.worker.idempotency import EXPIRATION, ID

    properties = json.loads(TEMPLATE.read_text())["Resources"]["IdempotencyTable"]["Properties"]

    assert properties["KeySchema"][0]["AttributeName"] == ID
    assert properties["TimeToLiveSpecification"]["AttributeName"] == EXPIRATION


def test_each_function_writes_only_its_own_log_group() -> None:
    own = {API: "whoknows-{stage}", WORKER: "whoknows-{stage}-worker"}
    for function, found in template_policies().items():
        for grant in found:
            if grant.action.startswith("logs:"):
                expected = own[function].format(stage="${Stage}")
                assert _resource_text(grant.resource).endswith(f":log-group:/aws/lambda/{expected}:*"), grant
    for (stage, function), found in chalice_policies().items():
        for grant in found:
            if grant.action.startswith("logs:"):
                expected = own[function].format(stage=stage)
                assert _resource_text(grant.resource).endswith(f":log-group:/aws/lambda/{expected}:*"), grant
