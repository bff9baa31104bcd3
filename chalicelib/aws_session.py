"""One botocore session per container for all of its AWS clients (`Settings.aws`).

Every session parses botocore's endpoint, partition and default-configuration files and lists its
service models again before its first client: ~100 ms of CPU per session (bench.serving (d)).
Clients made from one session share that work: the worker's S3, DynamoDB and SSM clients, the API
function's SSM and Lambda clients.

botocore, not boto3: boto3's clients are botocore's, and chalicelib uses nothing else of boto3. Its
import (boto3 itself, then s3transfer for the S3 client's transfer methods) cost ~30-60 ms of every
worker cold start. botocore is imported at the first client, never before: an API function with
its secrets in the environment and local dispatch never loads it.
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
