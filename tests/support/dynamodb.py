"""A real DynamoDB API (the session's moto server) holding the tables as deployed.

`idempotency_table` and `feedback_table` each create a fresh table per test with the keys and TTL of
deploy/merge-template.json (read from it, so the tests and the deployed tables cannot drift apart),
point boto3's DynamoDB clients at the server, and return a `Table` to inspect what was written.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.support.aws import REGION, apply_fake_aws_env

MERGE_TEMPLATE = Path(__file__).resolve().parents[2] / "deploy" / "merge-template.json"


def deployed_table_properties(resource: str = "IdempotencyTable") -> dict[str, Any]:
    """A table's key schema, attributes and TTL as the merge template declares them."""
    resources = json.loads(MERGE_TEMPLATE.read_text())["Resources"]
    return resources[resource]["Properties"]


@dataclass
class Table:
    client: Any
    name: str
    endpoint: str

    def items(self) -> list[dict[str, Any]]:
        """Every record, deserialised (numbers as int)."""
        from boto3.dynamodb.types import TypeDeserializer

        plain = TypeDeserializer()
        pages = self.client.get_paginator("scan").paginate(TableName=self.name, ConsistentRead=True)
        return [
            {key: _plain(plain.deserialize(value)) for key, value in item.items()}
            for page in pages
            for item in page["Items"]
        ]

    def update(self, key: str, **values: Any) -> None:
        """Overwrites attributes of one record: how a test moves a record through time."""
        names = {f"#a{i}": name for i, name in enumerate(values)}
        self.client.update_item(
            TableName=self.name,
            Key={"id": {"S": key}},
            UpdateExpression="SET " + ", ".join(f"{alias} = :v{i}" for i, alias in enumerate(names)),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={
                f":v{i}": {"N": str(value)} if isinstance(value, int) else {"S": str(value)}
                for i, value in enumerate(values.values())
            },
        )


def _plain(value: Any) -> Any:
    from decimal import Decimal

    return int(value) if isinstance(value, Decimal) else value


def create_table(client: Any, name: str, resource: str = "IdempotencyTable") -> None:
    properties = deployed_table_properties(resource)
    client.create_table(
        TableName=name,
        BillingMode=properties["BillingMode"],
        AttributeDefinitions=properties["AttributeDefinitions"],
        KeySchema=properties["KeySchema"],
    )
    client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.05, "MaxAttempts": 100})
    client.update_time_to_live(TableName=name, TimeToLiveSpecification=properties["TimeToLiveSpecification"])


@pytest.fixture
def idempotency_table(
    moto_server: str, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Table:
    apply_fake_aws_env(
        monkeypatch, tmp_path_factory.mktemp("aws") / "absent", dynamodb=moto_server, s3=moto_server
    )
    client = boto3.client("dynamodb", endpoint_url=moto_server, region_name=REGION)
    name = f"whoknows-test-idempotency-{uuid.uuid4().hex[:12]}"
    create_table(client, name)
    return Table(client, name, moto_server)


@pytest.fixture
def feedback_table(
    moto_server: str, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Table:
    apply_fake_aws_env(
        monkeypatch, tmp_path_factory.mktemp("aws") / "absent", dynamodb=moto_server, s3=moto_server
    )
    client = boto3.client("dynamodb", endpoint_url=moto_server, region_name=REGION)
    name = f"whoknows-test-feedback-{uuid.uuid4().hex[:12]}"
    create_table(client, name, "FeedbackTable")
    return Table(client, name, moto_server)
