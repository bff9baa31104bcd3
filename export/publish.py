"""`python -m export publish MODEL_DIR s3://bucket/prefix [--teams teams.json]`: make a trained model
(and the team directory that says how to reach its teams) the one the bot serves.

Versions are immutable: `prefix/versions/<version>/` gets the model, then its manifest, and only then
the pointer `prefix/manifest.json` moves, so a worker following the pointer never finds a manifest
whose model is not there yet. A team directory is published beside the model as
`versions/<version>/teams-<first 16 hex digits of its sha256>.json`, an object that is never
overwritten, and named in the manifests (`team_directory`: path, sha256, size), so a worker verifies
it and swaps it in with the model. `--teams-only` publishes a new directory for the version the
pointer names: the directory, then that version's manifest, then the pointer; a team's new channel
is a publish, not a redeploy. The directory is checked against the model's labels first, as the
worker checks it: a malformed file is an error, a label without an entry (or an entry for no label)
a warning. Before anything is uploaded, the candidate is judged against the published model
(export/gate.py): a worse one is refused unless `--force`, and the outcome is recorded in the
manifests it writes (`publish`).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.aws import error_code
from chalicelib.model.manifest import (
    MANIFEST_NAME,
    MAX_DIRECTORY_BYTES,
    MODEL_NAME,
    FileRef,
    Manifest,
    ManifestError,
    file_sha256,
    parse_manifest,
)
from chalicelib.model.store import make_s3_client, s3_key, translate_s3_error
from chalicelib.model.teams import TeamDirectory, TeamDirectoryError
from export.arguments import input_file
from export.errors import UserError
from export.gate import DEFAULT_MAX_DROP, check, max_drop
from export.s3_uri import check_s3_uri

_UNSAFE_VERSION = re.compile(r"[/\\\s]|^\.\.?$")

EPILOG = """\
examples:
  python -m export publish out/model s3://acme-whoknows/models --teams teams.json
  python -m export publish s3://acme-whoknows/models --teams-only --teams teams.json
  python -m export publish out/model s3://models/whoknows --endpoint-url http://127.0.0.1:9000

Then set the bot's model URI to the DEST you published to (s3://acme-whoknows/models).
A model whose top-1 or answered precision on its held-out tickets is more than --max-drop below the
published model's is refused, with both figures; --force publishes it anyway (recorded in the
manifest). Rolling back to an older training folder is such a publish: it needs --force.
--teams-only gives the published version a new team directory (a channel changed, a team renamed):
running bots pick it up within MODEL_REFRESH_SECONDS, like a new model.
Credentials come from the usual AWS sources (AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY).
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "publish",
        help="upload a trained model (and its team directory) to S3 and point the bot at it",
        description="Upload MODEL_DIR's model.onnx and manifest.json (and the --teams directory) as an\n"
        "immutable version under DEST, then move DEST/manifest.json to it. Warm bots pick it up\n"
        "without a redeploy. With --teams-only, publish only a team directory for the version\n"
        "DEST/manifest.json names (no MODEL_DIR).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("model_dir", metavar="MODEL_DIR", type=Path, nargs="?", help="training output folder")
    parser.add_argument("dest", metavar="DEST", help="s3://bucket/prefix (the bot's model URI)")
    parser.add_argument(
        "--teams",
        metavar="FILE",
        type=Path,
        help="team directory (JSON: display names, channels, groups, descriptions) to publish with the model",
    )
    parser.add_argument(
        "--teams-only",
        action="store_true",
        help="publish only --teams, for the version already published at DEST",
    )
    parser.add_argument("--endpoint-url", help="S3-compatible store, e.g. http://127.0.0.1:9000")
    parser.add_argument("--dry-run", action="store_true", help="check everything, upload nothing")
    parser.add_argument(
        "--max-drop",
        type=max_drop,
        default=DEFAULT_MAX_DROP,
        metavar="D",
        help="refuse a model whose top-1 or answered precision is lower than the published model's by "
        f"more than D on the same held-out tickets (default {DEFAULT_MAX_DROP}: one point)",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="publish even when the model is worse or cannot be compared (recorded in the manifest)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    split_dest(args.dest)  # a typo in DEST should fail before anything else is touched
    if args.teams_only and (args.teams is None or args.model_dir is not None):
        raise UserError(
            "--teams-only publishes a team directory for the version already at DEST: "
            "give DEST and --teams FILE, without MODEL_DIR"
        )
    if not args.teams_only and args.model_dir is None:
        raise UserError("give MODEL_DIR and DEST (or DEST --teams-only --teams FILE for a directory alone)")
    if args.teams is not None:
        input_file(args.teams, "a team directory JSON file")
    try:
        client = make_s3_client(args.endpoint_url)
    except (BotoCoreError, ValueError) as error:
        raise UserError(f"cannot set up the S3 client: {error}") from None
    if args.teams_only:
        pointer = publish_teams(args.teams, args.dest, client, dry_run=args.dry_run, say=print)
    else:
        pointer = publish(
            args.model_dir,
            args.dest,
            client,
            teams=args.teams,
            dry_run=args.dry_run,
            say=print,
            force=args.force,
            max_drop=args.max_drop,
        )
    print(f"{'pointer (dry run)' if args.dry_run else 'pointer'}: {pointer}")
    print(f"bot model URI: {args.dest.rstrip('/')}")
    return 0


@dataclass(frozen=True)
class Directory:
    """A team directory checked against a model's labels, ready to upload."""

    raw: bytes
    ref: FileRef
    """Its path relative to a version's manifest."""


def load_team_directory(path: Path, labels: tuple[str, ...], say: Callable[[str], None]) -> Directory:
    """Reads and checks `path` as the worker will: a malformed file is a UserError; labels the
    directory lacks, and entries for labels the model lacks, are said as warnings."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise UserError(f"cannot read team directory {path}: {error.strerror or error}") from None
    if len(raw) > MAX_DIRECTORY_BYTES:
        raise UserError(f"team directory {path} is {len(raw)} bytes; the limit is {MAX_DIRECTORY_BYTES}")
    try:
        directory = TeamDirectory.parse(raw, str(path))
    except TeamDirectoryError as error:
        raise UserError(str(error)) from None
    for problem in directory.problems(labels):
        say(f"warning: {problem}")
    digest = hashlib.sha256(raw).hexdigest()
    return Directory(raw, FileRef(f"teams-{digest[:16]}.json", digest, len(raw)))


def publish(
    model_dir: Path,
    dest: str,
    s3_client: Any,
    *,
    teams: Path | None = None,
    dry_run: bool = False,
    say: Callable[[str], None] = lambda _: None,
    force: bool = False,
    max_drop: float = DEFAULT_MAX_DROP,
) -> str:
    """Publishes the model in model_dir (with the `teams` directory) under dest and returns the
    pointer's URI. Without `teams` a new version has no directory (bots use TEAM_DIRECTORY) and an
    already published version keeps the one it has. Raises GateRefused (export/gate.py) when the
    model is worse than the published one, unless `force`."""
    bucket, prefix = split_dest(dest)
    manifest, model_file = load_model_dir(Path(model_dir))
    directory = load_team_directory(teams, manifest.labels, say) if teams is not None else None
    version_dir = s3_key(prefix, "versions", manifest.version)
    pointer_key = s3_key(prefix, MANIFEST_NAME)
    existing = _published_version(s3_client, bucket, s3_key(version_dir, MANIFEST_NAME))
    if existing is not None and existing.sha256 != manifest.sha256:
        raise UserError(
            f"version {manifest.version} is already published at s3://{bucket}/{version_dir}/ with a "
            f"different model (sha256 {existing.sha256[:12]}…); versions are immutable: use a new version"
        )
    current = _published_version(s3_client, bucket, pointer_key)
    if directory is None:
        _warn_if_the_directory_goes(current, existing, say)
    record = check(
        Path(model_dir), manifest, current, s3_client, dest, force=force, allowed_drop=max_drop, say=say
    )
    if dry_run:
        say(f"dry run: would publish version {manifest.version} to s3://{bucket}/{version_dir}/")
        return f"s3://{bucket}/{pointer_key}"
    # A training folder's manifest names no directory; a published version's names its own.
    version_manifest = (existing or manifest.with_team_directory(None)).with_model_path(MODEL_NAME)
    version_manifest = replace(version_manifest, extra={**version_manifest.extra, "publish": record})
    if directory is not None:
        version_manifest = version_manifest.with_team_directory(directory.ref)
        _upload_directory(s3_client, bucket, version_dir, directory)
        say(f"team directory: s3://{bucket}/{s3_key(version_dir, directory.ref.path)}")
    if existing is None:
        _upload_model(s3_client, bucket, version_dir, manifest, model_file)
        if manifest.ticket_index is not None:
            _upload_ticket_index(s3_client, bucket, version_dir, manifest.ticket_index, Path(model_dir))
        say(f"published version {manifest.version}: s3://{bucket}/{s3_key(version_dir, MODEL_NAME)}")
    else:
        say(f"version {manifest.version} already published with this model; re-pointing to it")
    if existing is None or directory is not None:
        _put_json(s3_client, bucket, s3_key(version_dir, MANIFEST_NAME), version_manifest)
    _put_json(s3_client, bucket, pointer_key, version_manifest.under(f"versions/{manifest.version}"))
    return f"s3://{bucket}/{pointer_key}"


def publish_teams(
    teams: Path,
    dest: str,
    s3_client: Any,
    *,
    dry_run: bool = False,
    say: Callable[[str], None] = lambda _: None,
) -> str:
    """Publishes `teams` as the team directory of the version the pointer at dest names; returns
    the pointer's URI."""
    bucket, prefix = split_dest(dest)
    pointer_key = s3_key(prefix, MANIFEST_NAME)
    current = _published_version(s3_client, bucket, pointer_key)
    if current is None:
        raise UserError(f"nothing is published at {dest.rstrip('/')} yet: publish a model with --teams first")
    version_dir = s3_key(prefix, "versions", current.version)
    version_manifest = _published_version(s3_client, bucket, s3_key(version_dir, MANIFEST_NAME))
    if version_manifest is None or version_manifest.sha256 != current.sha256:
        raise UserError(
            f"the pointer names version {current.version}, but s3://{bucket}/{version_dir}/ does not "
            "hold that model: publish the model again"
        )
    directory = load_team_directory(teams, current.labels, say)
    if version_manifest.team_directory == directory.ref:
        say(f"version {current.version} already has this team directory")
    if dry_run:
        say(f"dry run: would publish {teams} for version {current.version} to s3://{bucket}/{version_dir}/")
        return f"s3://{bucket}/{pointer_key}"
    _upload_directory(s3_client, bucket, version_dir, directory)
    where = f"s3://{bucket}/{s3_key(version_dir, directory.ref.path)}"
    say(f"team directory for version {current.version}: {where}")
    updated = version_manifest.with_team_directory(directory.ref)
    _put_json(s3_client, bucket, s3_key(version_dir, MANIFEST_NAME), updated)
    _put_json(s3_client, bucket, pointer_key, updated.under(f"versions/{current.version}"))
    return f"s3://{bucket}/{pointer_key}"


def _warn_if_the_directory_goes(
    current: Manifest | None, existing: Manifest | None, say: Callable[[str], None]
) -> None:
    """Publishing without --teams over a model that has a directory would leave bots without it."""
    if existing is not None and existing.team_directory is not None:
        return  # re-pointing to a version keeps the directory it has
    if current is not None and current.team_directory is not None:
        say(
            "warning: the model published now has a team directory and this one has none: bots "
            "will show TEAM_DIRECTORY's channels, or bare labels; pass --teams to publish one with it"
        )


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
    if manifest.ticket_index is not None:
        index_file = model_dir / manifest.ticket_index.path
        if not index_file.is_file():
            raise UserError(f"ticket index {index_file} named by {manifest_file} is missing: retrain")
        if file_sha256(index_file) != manifest.ticket_index.sha256:
            raise UserError(f"{index_file} does not match its manifest: retrain")
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


def _upload_model(client: Any, bucket: str, version_dir: str, manifest: Manifest, model_file: Path) -> None:
    """The model before its manifest: a version manifest always has its model beside it."""
    key = s3_key(version_dir, MODEL_NAME)
    with model_file.open("rb") as body:
        _put(client, bucket, key, body, manifest.sha256, "application/octet-stream")


def _upload_ticket_index(client: Any, bucket: str, version_dir: str, ref: FileRef, model_dir: Path) -> None:
    """With the model, before the manifest that names it: a version is immutable, and so is its index."""
    key = s3_key(version_dir, ref.path)
    with (model_dir / ref.path).open("rb") as body:
        _put(client, bucket, key, body, ref.sha256, "application/octet-stream")


def _upload_directory(client: Any, bucket: str, version_dir: str, directory: Directory) -> None:
    """Before the manifests that name it; its name is its hash, so it never replaces another."""
    key = s3_key(version_dir, directory.ref.path)
    _put(client, bucket, key, directory.raw, directory.ref.sha256, "application/json")


def _put(client: Any, bucket: str, key: str, body: Any, sha256: str, content_type: str) -> None:
    checksum = base64.b64encode(bytes.fromhex(sha256)).decode()
    with _s3_errors(bucket, key):
        client.put_object(
            Bucket=bucket,
            Key=key,
            Body=body,
            ContentType=content_type,
            ChecksumSHA256=checksum,  # S3 rejects the upload if the bytes it received differ
        )


def _put_json(client: Any, bucket: str, key: str, manifest: Manifest) -> None:
    with _s3_errors(bucket, key):
        client.put_object(
            Bucket=bucket, Key=key, Body=manifest.to_json().encode(), ContentType="application/json"
        )
