"""One botocore session per container for all of its AWS clients (`Settings.aws`).

Every session parses botocore's endpoint, partition and default-configuration files before its
first client: ~80 ms of CPU per session (bench.serving (d)), less than it was since sessions stopped
listing botocore's ~420 service folders to find our four (`SERVICES`).
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

SERVICES = ("dynamodb", "lambda", "s3", "ssm")
"""The AWS services chalicelib makes clients for; a session knows no others."""


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
                session = botocore.session.Session()
                session.register_component("data_loader", _loader_of_our_services(session))
                self._session = session
            return self._session.create_client(service_name, **options)


def _loader_of_our_services(session: Any) -> Any:
    """botocore's data loader, told which services exist instead of finding out.

    Before its first model of each kind (service-2, endpoint-rule-set-1), botocore's loader lists
    every folder of its data directory and every API version in each: ~900 listdir and ~2,700 stat
    calls for ~420 services, ~20 ms of a cold worker's start, to check one name. Only that listing
    changes: the files, the search paths (AWS_DATA_PATH included), the versions and every model
    stay botocore's own, and a service outside SERVICES fails as an unknown one.
    """
    from botocore.exceptions import DataNotFoundError
    from botocore.loaders import create_loader

    loader = create_loader(session.get_config_variable("data_path"))

    def list_available_services(type_name: str) -> list[str]:
        available = []
        for name in SERVICES:
            try:
                loader.list_api_versions(name, type_name)  # raises when no version has this model
            except DataNotFoundError:
                continue
            available.append(name)
        return available

    loader.list_available_services = list_available_services  # this instance only
    return loader
