"""`python -m export publish MODEL_DIR s3://bucket/prefix`: make a trained model the one the bot serves.

Versions are immutable: `prefix/versions/<version>/` gets the model, then its manifest, and only then
the pointer `prefix/manifest.json` moves, so a worker following the pointer never finds a manifest
whose model is not there yet.
"""

from __future__ import annotations

import argparse
import base64
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.aws import error_code
from chalicelib.model.manifest import (
    MANIFEST_NAME,
    MODEL_NAME,
    Manifest,
    ManifestError,
    file_sha256,
    parse_manifest,
)
from chalicelib.model.store import make_s3_client, s3_key, translate_s3_error
from export.errors import UserError
from export.s3_uri import check_s3_uri

_UNSAFE_VERSION = re.compile(r"[/\\\s]|^\.\.?$")

EPILOG = """\
example:
  python -m export publish out/model s3://acme-whoknows/models
  python -m export publish out/model s3://models/whoknows --endpoint-url http://127.0.0.1:9000

Then set the bot's model URI to the DEST you published to (s3://acme-whoknows/models).
Credentials come from the usual AWS sources (AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY).
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "publish",
        help="upload a trained model to S3 and point the bot at it",
        description="Upload MODEL_DIR's model.onnx and manifest.json as an immutable version under DEST,\n"
        "then move DEST/manifest.json to it. Warm bots pick it up without a redeploy.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("model_dir", metavar="MODEL_DIR", type=Path, help="training output folder")
    parser.add_argument("dest", metavar="DEST", help="s3://bucket/prefix (the bot's model URI)")
    parser.add_argument("--endpoint-url", help="S3-compatible store, e.g. http://127.0.0.1:9000")
    parser.add_argument("--dry-run", action="store_true", help="check everything, upload nothing")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    split_dest(args.dest)  # a typo in DEST should fail before anything else is touched
    try:
        client = make_s3_client(args.endpoint_url)
    except (BotoCoreError, ValueError) as error:
        raise UserError(f"cannot set up the S3 client: {error}") from None
    pointer = publish(args.model_dir, args.dest, client, dry_run=args.dry_run, say=print)
    print(f"{'pointer (dry run)' if args.dry_run else 'pointer'}: {pointer}")
    print(f"bot model URI: {args.dest.rstrip('/')}")
    return 0


def publish(
    model_dir: Path,
    dest: str,
    s3_client: Any,
    *,
    dry_run: bool = False,
    say: Callable[[str], None] = lambda _: None,
) -> str:
    """Publishes the model in model_dir under dest and returns the pointer's URI."""
    bucket, prefix = split_dest(dest)
    manifest, model_file = load_model_dir(Path(model_dir))
    version_dir = s3_key(prefix, "versions", manifest.version)
    pointer_key = s3_key(prefix, MANIFEST_NAME)
    existing = _published_version(s3_client, bucket, s3_key(version_dir, MANIFEST_NAME))
    if existing is not None and existing.sha256 != manifest.sha256:
        raise UserError(
            f"version {manifest.version} is already published at s3://{bucket}/{version_dir}/ with a "
            f"different model (sha256 {existing.sha256[:12]}…); versions are immutable: use a new version"
        )
    if dry_run:
        say(f"dry run: would publish version {manifest.version} to s3://{bucket}/{version_dir}/")
    elif existing is None:
        _upload_version(s3_client, bucket, version_dir, manifest, model_file)
        say(f"published version {manifest.version}: s3://{bucket}/{s3_key(version_dir, MODEL_NAME)}")
    else:
        say(f"version {manifest.version} already published with this model; re-pointing to it")
    if not dry_run:
        pointer = (existing or manifest).with_model_path(f"versions/{manifest.version}/{MODEL_NAME}")
        _put_json(s3_client, bucket, pointer_key, pointer)
    return f"s3://{bucket}/{pointer_key}"


def split_dest(dest: str) -> tuple[str, str]:
    """Only S3 is a publish target: a training folder is already usable as a file model URI."""
    return check_s3_uri(dest, "DEST")


def load_model_dir(model_dir: Path) -> tuple[Manifest, Path]:
    """Checks the training output before any upload: a bad model must never become a version."""
    manifest_file = model_dir / MANIFEST_NAME
    if not manifest_file.is_file():
        raise UserError(f"no {MANIFEST_NAME} in {model_dir}: pass the training output folder")
    try:
        manifest = parse_manifest(manifest_file.read_bytes())
    except ManifestError as error:
        raise UserError(f"invalid manifest {manifest_file}: {error}") from None
    if _UNSAFE_VERSION.search(manifest.version):
        raise UserError(f"manifest version {manifest.version!r} cannot name an S3 folder (no '/', spaces)")
    model_file = model_dir / manifest.model_path
    if not model_file.is_file():
        raise UserError(f"model file {model_file} named by {manifest_file} is missing")
    _verify(model_file, manifest)
    return manifest, model_file


def _verify(model_file: Path, manifest: Manifest) -> None:
    size = model_file.stat().st_size
    if size != manifest.size_bytes:
        raise UserError(f"{model_file} has {size} bytes but its manifest says {manifest.size_bytes}: retrain")
    digest = file_sha256(model_file)
    if digest != manifest.sha256:
        raise UserError(f"{model_file} sha256 {digest[:12]}… does not match its manifest: retrain")


@contextmanager
def _s3_errors(bucket: str, key: str) -> Iterator[None]:
    """Turns botocore failures into one operator-readable line (bucket, credentials, endpoint, denied)."""
    try:
        yield
    except (BotoCoreError, ClientError) as error:
        raise UserError(str(translate_s3_error(error, f"s3://{bucket}/{key}"))) from None


def _published_version(client: Any, bucket: str, key: str) -> Manifest | None:
    """The manifest already stored for this version, or None if the version is new."""
    with _s3_errors(bucket, key):
        try:
            raw = client.get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as error:
            if error_code(error) == "NoSuchKey":
                return None
            raise
    try:
        return parse_manifest(raw)
    except ManifestError as error:
        raise UserError(
            f"s3://{bucket}/{key} exists but is invalid ({error}); remove it or use a new version"
        ) from None


def _upload_version(client: Any, bucket: str, version_dir: str, manifest: Manifest, model_file: Path) -> None:
    """Model first, then its manifest: a version manifest always has its model beside it."""
    key = s3_key(version_dir, MODEL_NAME)
    checksum = base64.b64encode(bytes.fromhex(manifest.sha256)).decode()
    with _s3_errors(bucket, key), model_file.open("rb") as body:
        client.put_object(
            Bucket=bucket,
            Key=key,
            Body=body,
            ContentType="application/octet-stream",
            ChecksumSHA256=checksum,  # S3 rejects the upload if the bytes it received differ
        )
    _put_json(client, bucket, s3_key(version_dir, MANIFEST_NAME), manifest.with_model_path(MODEL_NAME))


def _put_json(client: Any, bucket: str, key: str, manifest: Manifest) -> None:
    with _s3_errors(bucket, key):
        client.put_object(
            Bucket=bucket, Key=key, Body=manifest.to_json().encode(), ContentType="application/json"
        )
