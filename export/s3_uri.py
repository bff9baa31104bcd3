"""S3 URIs given on the command line, checked before any client is built.

botocore refuses a bad bucket name with a multi-line message quoting its regex; the operator gets
one line naming the rule instead, before any network or credential lookup.
"""

from __future__ import annotations

import ipaddress
import re

from chalicelib.model.store import split_s3_uri
from export.errors import UserError

_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
BUCKET_RULE = (
    "S3 bucket names are 3-63 lowercase letters, digits, dots and hyphens, starting and ending with a "
    "letter or digit"
)


def check_s3_uri(uri: str, what: str) -> tuple[str, str]:
    """(bucket, prefix) of `uri`, or a one-line UserError naming `what` (e.g. "--model") and the fix."""
    try:
        bucket, prefix = split_s3_uri(uri)
    except ValueError as error:
        raise UserError(f"bad {what}: {error}") from None
    if not _BUCKET.fullmatch(bucket) or ".." in bucket or _is_ip_address(bucket):
        raise UserError(f"bad {what}: invalid bucket name {bucket!r} in {uri}; {BUCKET_RULE}")
    return bucket, prefix


def _is_ip_address(name: str) -> bool:
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        return False
    return True
