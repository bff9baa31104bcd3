"""One boto3 session per container for all of its AWS clients (`Settings.aws`).

Every boto3 Session parses botocore's endpoint, partition and default-configuration files and lists
its service models again before its first client: ~100 ms of CPU per session (bench.serving (d)).
Clients made from one session share that work: the worker's S3, DynamoDB and SSM clients, the API
function's SSM and Lambda clients. boto3 is imported at the first client, never before: an API
function with its secrets in the environment and local dispatch never loads it.
"""

from __future__ import annotations

import threading
from typing import Any


class LazySession:
    """A boto3 session made at the first `client()` call; thread-safe (boto3 sessions are not)."""

    def __init__(self) -> None:
        self._session: Any = None
        self._lock = threading.Lock()

    def client(self, service_name: str, **options: Any) -> Any:
        with self._lock:
            if self._session is None:
                import boto3

                # A new Session, not boto3's default one: credentials and endpoints are read from
                # the environment as it is now (tests change it between workers).
                self._session = boto3.session.Session()
            return self._session.client(service_name, **options)
