"""`export feedback pull`: every record of the bot's feedback table into the feedback CSV.

A paginated Scan with botocore (the records are few: one per click), written sorted by time. The
table is the deploy stack's `FeedbackTableName` output (`whoknows-<stage>-feedback`); the caller's
credentials need dynamodb:Scan on it. Every failure is one line naming the table and the fix.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

from chalicelib.aws import LazySession, error_code
from chalicelib.config import DYNAMODB_TABLE
from chalicelib.worker.feedback_store import ATTRIBUTES
from export.errors import UserError
from export.feedback_csv import FeedbackRow

SCHEME = "dynamodb://"
_DENIED = {"AccessDeniedException", "UnrecognizedClientException", "ExpiredTokenException"}


def table_name(store: str) -> str:
    """The table named by `store` (`name` or `dynamodb://name`), or a one-line UserError."""
    name = store[len(SCHEME) :] if store.startswith(SCHEME) else store
    if "://" in name or not DYNAMODB_TABLE.fullmatch(name):
        raise UserError(
            f"bad feedback store {store!r}: give the DynamoDB table's name (3-255 of A-Z a-z 0-9 _ . -), "
            f"e.g. whoknows-prod-feedback or {SCHEME}whoknows-prod-feedback"
        )
    return name


def make_client(endpoint_url: str | None = None, region: str | None = None) -> Any:
    from botocore.config import Config

    config = Config(connect_timeout=5, read_timeout=30, retries={"mode": "standard", "max_attempts": 5})
    options: dict[str, Any] = {"endpoint_url": endpoint_url, "config": config}
    if region:
        options["region_name"] = region
    try:
        return LazySession().client("dynamodb", **options)
    except NoRegionError:
        raise UserError("no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION), or pass --region") from None
    except (BotoCoreError, ValueError) as error:
        raise UserError(f"cannot set up the DynamoDB client: {error}") from None


def scan(client: Any, table: str, page_size: int | None = None) -> Iterator[FeedbackRow]:
    """Every record, page after page (DynamoDB's 1 MB pages, or `page_size` items); botocore's
    errors become one UserError line."""
    request: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    if page_size is not None:
        request["Limit"] = page_size
    while True:
        try:
            page = client.scan(**request)
        except (BotoCoreError, ClientError) as error:
            raise UserError(_explain(error, table, client)) from None
        for item in page.get("Items", []):
            yield _row(item)
        if "LastEvaluatedKey" not in page:
            return
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _row(item: dict[str, dict[str, str]]) -> FeedbackRow:
    values = {name: next(iter(item[name].values())) for name in ATTRIBUTES if name in item}
    return FeedbackRow(**{name: str(value) for name, value in values.items()})


def _explain(error: Exception, table: str, client: Any) -> str:
    where = f"{client.meta.region_name}" + (
        f" at {client.meta.endpoint_url}" if "amazonaws.com" not in client.meta.endpoint_url else ""
    )
    if isinstance(error, NoCredentialsError):
        return (
            f"no AWS credentials to read table {table}: "
            "set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
        )
    code = error_code(error) if isinstance(error, ClientError) else None
    if code == "ResourceNotFoundException":
        return (
            f"DynamoDB table {table} does not exist in {where}: check the name (the stack's "
            "FeedbackTableName output) and the region (AWS_REGION or --region)"
        )
    if code in _DENIED:
        return f"access denied ({code}) to table {table}: the credentials need dynamodb:Scan on it"
    if code is not None:
        return f"DynamoDB error {code} reading table {table} in {where}"
    return f"cannot reach DynamoDB for table {table} in {where}: {type(error).__name__}"
