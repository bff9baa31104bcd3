"""Where the worker gets its model: an s3:// prefix or a local folder holding `manifest.json`.

A warm worker asks `read_manifest()` at most every MODEL_REFRESH_SECONDS; it must cost one conditional
request when nothing changed, so the ETag of the pointer is remembered. `fetch_model()` returns a
local file whose sha256 has been checked, cached in /tmp by content hash so a new container or a
rollback costs no download.
`fetch_directory()` returns the bytes of the team directory published with the model, checked the
same way (a few kilobytes: read whenever the manifest names a new one, not cached).

botocore is imported only when an s3:// URI is used: a folder needs nothing beyond the standard
library (local mode, `export ask`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlparse

from chalicelib.aws import LazySession, error_code, error_status
from chalicelib.model.errors import ModelCorrupt, ModelNotFound, ModelStoreError, ModelUnreachable
from chalicelib.model.manifest import (
    MANIFEST_NAME,
    FileRef,
    Manifest,
    ManifestError,
    file_sha256,
    parse_manifest,
)

_CHUNK = 1 << 20
_KEEP_MODELS = 2  # the current model and the previous one, so a rollback costs no download
_STALE_PART_SECONDS = 15 * 60  # a Lambda invocation never lives longer; older .part files are dead
_NOT_FOUND_CODES = {"NoSuchKey", "NoSuchBucket", "404", "NotFound"}
_DENIED_CODES = {"AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken"}


def split_s3_uri(uri: str) -> tuple[str, str]:
    """Returns (bucket, prefix) with the prefix's slashes trimmed; raises ValueError naming the URI."""
    if not uri.startswith("s3://"):
        raise ValueError(f"not an s3:// URI: {uri!r} (expected s3://bucket/prefix)")
    bucket, _, prefix = uri[len("s3://") :].partition("/")
    if not bucket:
        raise ValueError(f"no bucket in S3 URI {uri!r} (expected s3://bucket/prefix)")
    return bucket, prefix.strip("/")


def s3_key(prefix: str, *parts: str) -> str:
    """Joins key parts so that an empty prefix means the bucket root, not a leading slash."""
    return "/".join(part for part in (prefix, *parts) if part)


def make_s3_client(endpoint_url: str | None = None, session: LazySession | None = None) -> Any:
    """An S3 client that gives up within seconds: a dead store must not eat the Lambda's timeout.

    Without endpoint_url botocore honours AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL (local S3-compatible
    stores), so no setting of our own is needed. `session` shares its set-up with the caller's other
    clients (chalicelib.aws); by default the client gets a session of its own.
    """
    from botocore.config import Config

    config = Config(connect_timeout=3, read_timeout=10, retries={"mode": "standard", "max_attempts": 3})
    return (session or LazySession()).client("s3", endpoint_url=endpoint_url, config=config)


def translate_s3_error(error: Exception, uri: str) -> ModelStoreError:
    """Maps a botocore failure to this module's hierarchy, so callers need not know botocore."""
    from botocore.exceptions import ClientError, NoCredentialsError

    if isinstance(error, ClientError):
        code = error_code(error) or ""
        if code == "NoSuchBucket":
            return ModelNotFound(f"bucket does not exist: {uri}")
        if code in _NOT_FOUND_CODES:
            return ModelNotFound(f"no such object: {uri}")
        if code in _DENIED_CODES:
            return ModelUnreachable(f"access denied ({code}) to {uri}: check the credentials' S3 permissions")
        return ModelUnreachable(f"S3 error {code or 'unknown'} for {uri}")
    if isinstance(error, NoCredentialsError):
        return ModelUnreachable(
            f"no AWS credentials to access {uri}: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
        )
    return ModelUnreachable(f"cannot reach S3 for {uri}: {error}")


class _Source(Protocol):
    def read_pointer(self, tag: str | None) -> tuple[bytes, str] | None: ...
    def model_chunks(self, model_path: str) -> Iterator[bytes]:
        """The bytes of a file of the model (the model, its team directory), in chunks."""
        ...

    def describe(self, path: str) -> str: ...


class _S3Source:
    def __init__(self, uri: str, client: Any) -> None:
        self._bucket, self._prefix = split_s3_uri(uri)
        self._client = client

    def describe(self, path: str) -> str:
        return f"s3://{self._bucket}/{s3_key(self._prefix, path)}"

    def read_pointer(self, tag: str | None) -> tuple[bytes, str] | None:
        """One GET; with the previous ETag, S3 answers 304 and no body when nothing changed."""
        from botocore.exceptions import BotoCoreError, ClientError

        request = {"Bucket": self._bucket, "Key": s3_key(self._prefix, MANIFEST_NAME)}
        if tag:
            request["IfNoneMatch"] = tag
        try:
            response = self._client.get_object(**request)
            return response["Body"].read(), response["ETag"]
        except ClientError as error:
            if error_status(error) == 304:
                return None
            raise translate_s3_error(error, self.describe(MANIFEST_NAME)) from error
        except BotoCoreError as error:
            raise translate_s3_error(error, self.describe(MANIFEST_NAME)) from error

    def model_chunks(self, model_path: str) -> Iterator[bytes]:
        from botocore.exceptions import BotoCoreError, ClientError

        key = s3_key(self._prefix, model_path)
        try:
            with contextlib.closing(self._client.get_object(Bucket=self._bucket, Key=key)["Body"]) as body:
                yield from body.iter_chunks(_CHUNK)
        except (BotoCoreError, ClientError) as error:
            raise translate_s3_error(error, self.describe(model_path)) from error


class _FileSource:
    def __init__(self, root: Path) -> None:
        self._root = root

    def describe(self, path: str) -> str:
        return str(self._root / path)

    def read_pointer(self, tag: str | None) -> tuple[bytes, str] | None:
        """Re-reads the small manifest and compares content: exact where mtime granularity is not."""
        raw = self._read(MANIFEST_NAME)
        digest = hashlib.sha256(raw).hexdigest()
        return None if digest == tag else (raw, digest)

    def model_chunks(self, model_path: str) -> Iterator[bytes]:
        try:
            with (self._root / model_path).open("rb") as source:
                yield from iter(lambda: source.read(_CHUNK), b"")
        except FileNotFoundError:
            raise ModelNotFound(f"no such file: {self.describe(model_path)}") from None
        except OSError as error:
            raise ModelUnreachable(f"cannot read {self.describe(model_path)}: {error.strerror}") from None

    def _read(self, path: str) -> bytes:
        try:
            return (self._root / path).read_bytes()
        except FileNotFoundError:
            what = "no manifest" if self._root.is_dir() else "no model folder"
            raise ModelNotFound(f"{what}: {self.describe(path)}") from None
        except OSError as error:
            raise ModelUnreachable(f"cannot read {self.describe(path)}: {error.strerror}") from None


def _local_path(uri: str) -> Path:
    """Accepts file:///abs/dir or a plain path; anything else with a scheme is a configuration error."""
    if uri.startswith("file://"):
        parsed = urlparse(uri)
        if parsed.netloc not in ("", "localhost"):
            raise ValueError(f"file URI must be local (file:///abs/dir): {uri!r}")
        return Path(unquote(parsed.path))
    if "://" in uri:
        raise ValueError(f"unsupported model URI {uri!r}: use s3://bucket/prefix, file:///dir or a path")
    return Path(uri)


class ModelStore:
    """One model location, read by one worker container; not thread-safe (Lambda runs one job at a time).

    Copies file-store models into the cache too, rather than returning the training folder's file:
    training overwrites `model.onnx` in place, and a returned path must keep matching its sha256.
    """

    def __init__(
        self,
        uri: str,
        cache_dir: Path,
        s3_client: Any = None,
        session: LazySession | None = None,
    ) -> None:
        self.uri = uri
        self.cache_dir = Path(cache_dir)
        if uri.startswith("s3://"):
            self._source: _Source = _S3Source(uri, s3_client or make_s3_client(session=session))
        else:
            self._source = _FileSource(_local_path(uri))
        self._tag: str | None = None
        self._verified: set[Path] = set()

    def read_manifest(self) -> Manifest | None:
        """The current manifest, or None when it has not changed since the last successful read.

        None means "same as the one returned before", even if fetching its model failed since: the
        caller keeps that manifest to retry fetch_model.
        """
        fetched = self._source.read_pointer(self._tag)
        if fetched is None:
            return None
        raw, tag = fetched
        try:
            manifest = parse_manifest(raw)
        except ManifestError as error:
            raise ModelCorrupt(
                f"invalid manifest at {self._source.describe(MANIFEST_NAME)}: {error}"
            ) from None
        self._tag = tag  # only once parsed, so a broken pointer is re-read rather than skipped
        return manifest

    def fetch_directory(self, manifest: Manifest) -> bytes | None:
        """The team directory published with the manifest's model, verified against its size and
        sha256; None when the manifest names none. Raises ModelCorrupt on a mismatch."""
        return (
            None
            if manifest.team_directory is None
            else self.fetch_file(manifest.team_directory, "team directory")
        )

    def fetch_ticket_index(self, manifest: Manifest) -> bytes | None:
        """The ticket index published with the manifest's model, verified likewise."""
        return (
            None if manifest.ticket_index is None else self.fetch_file(manifest.ticket_index, "ticket index")
        )

    def fetch_file(self, ref: FileRef, what: str) -> bytes:
        """A small file published beside the model, read whole and checked against its size and
        sha256 (ModelCorrupt on a mismatch)."""
        data = bytearray()
        for chunk in self._source.model_chunks(ref.path):
            data += chunk
            if len(data) > ref.size_bytes:
                break
        where = self._source.describe(ref.path)
        digest = hashlib.sha256(data).hexdigest()
        if len(data) != ref.size_bytes or digest != ref.sha256:
            raise ModelCorrupt(
                f"{what} at {where} has {len(data)} bytes and sha256 {digest[:12]}…, "
                f"manifest says {ref.size_bytes} bytes and {ref.sha256[:12]}…"
            )
        return bytes(data)

    def fetch_model(self, manifest: Manifest) -> Path:
        """A local copy of the manifest's model, verified against its size and sha256."""
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        target = self.cache_dir / f"{manifest.sha256}.onnx"
        if not (target in self._verified and target.exists()):
            if not (target.exists() and _matches(target, manifest)):
                self._download(manifest, target)
            self._verified.add(target)
        os.utime(target)  # the newest mtime marks it as in use for pruning
        self._prune(target)
        return target

    def _download(self, manifest: Manifest, target: Path) -> None:
        """Writes to a temp file and renames only after verifying, so the cache never holds a bad model."""
        fd, part = tempfile.mkstemp(dir=self.cache_dir, prefix=f".{manifest.sha256[:16]}-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                digest, size = self._copy(manifest, out)
            _check(manifest, digest, size, self._source.describe(manifest.model_path))
            os.replace(part, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(part)

    def _copy(self, manifest: Manifest, out: Any) -> tuple[str, int]:
        """Streams and hashes in one pass; stops early rather than fill /tmp with an oversized object."""
        digest, size = hashlib.sha256(), 0
        for chunk in self._source.model_chunks(manifest.model_path):
            size += len(chunk)
            if size > manifest.size_bytes:
                break
            digest.update(chunk)
            out.write(chunk)
        return digest.hexdigest(), size

    def _prune(self, current: Path) -> None:
        """Bounds /tmp (512 MB by default): keeps the newest models and drops abandoned downloads."""
        models = sorted(self.cache_dir.glob("*.onnx"), key=_mtime, reverse=True)
        keep = {current, *[path for path in models if path != current][: _KEEP_MODELS - 1]}
        for path in models:
            if path not in keep:
                self._verified.discard(path)
                path.unlink(missing_ok=True)
        for part in self.cache_dir.glob(".*.part"):
            if time.time() - _mtime(part) > _STALE_PART_SECONDS:
                part.unlink(missing_ok=True)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return 0.0


def _matches(path: Path, manifest: Manifest) -> bool:
    """Re-hashes a file left by an earlier container: /tmp survives, our memory of it does not."""
    return path.stat().st_size == manifest.size_bytes and file_sha256(path) == manifest.sha256


def _check(manifest: Manifest, digest: str, size: int, where: str) -> None:
    if size > manifest.size_bytes:
        raise ModelCorrupt(f"model at {where} is larger than the manifest's {manifest.size_bytes} bytes")
    if size < manifest.size_bytes:
        raise ModelCorrupt(f"model at {where} has {size} bytes, manifest says {manifest.size_bytes}")
    if digest != manifest.sha256:
        raise ModelCorrupt(f"model at {where} has sha256 {digest}, manifest says {manifest.sha256}")
