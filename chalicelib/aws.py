"""One botocore session per container for all of its AWS clients (`Settings.aws`), and the one way
to read an AWS error's code.

A session parses botocore's endpoint, partition and default-configuration files before its first
client. Clients made from one session share that work: the worker's S3, DynamoDB and SSM clients,
the API function's SSM and Lambda clients.

botocore, not boto3: boto3's clients are botocore's, and chalicelib uses nothing else of boto3, so
boto3's import (and s3transfer's) stays off the worker's cold start. botocore is imported at the
first client, never before: an API function with its secrets in the environment and local dispatch
never loads it.
"""

from __future__ import annotations

import threading
from typing import Any


class LazySession:
    """A botocore session made at the first `client()` call; thread-safe (sessions are not)."""

    def __init__(self) -> None:
        self._session: Any = None
        self._lock = threading.Lock()

    def client(self, service_name: str, **options: Any) -> Any:
        """A low-level client, as `boto3.client(service_name, **options)` would make it."""
        with self._lock:
            if self._session is None:
                import botocore.session

                # A new session, not a shared default one: credentials, region and endpoints are
                # read from the environment as it is now (tests change it between workers).
                self._session = botocore.session.Session()
            return self._session.create_client(service_name, **options)


def error_code(error: BaseException) -> str | None:
    """The service's error code ("NoSuchKey", "ConditionalCheckFailedException", "404") of a
    botocore `ClientError`, read without importing botocore; None for any other exception."""
    response = getattr(error, "response", None)
    if not isinstance(response, dict):
        return None
    code = response.get("Error", {}).get("Code")
    return str(code) if code else None


def error_status(error: BaseException) -> int | None:
    """The HTTP status of a botocore `ClientError` (S3 answers a conditional GET's 304 this way)."""
    response = getattr(error, "response", None)
    if not isinstance(response, dict):
        return None
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return status if isinstance(status, int) else None
