"""The sample model that `make demo` and `make local` serve: trained from the embedded synthetic
tickets on first use, reused while the sample, the normaliser and the export code are unchanged."""

from __future__ import annotations

import hashlib
from pathlib import Path

from chalicelib.model.manifest import ManifestError, parse_manifest
from chalicelib.text import NORMALIZER_VERSION
from export.sample import SAMPLE_TICKETS

REPO = Path(__file__).resolve().parents[1]
MODEL_DIR = REPO / "out" / "sample-model"


def _export_code_changed_since(path: Path) -> bool:
    """Whether any export/ source is newer than `path` (a model built by older export code)."""
    built = path.stat().st_mtime
    return any(source.stat().st_mtime > built for source in (REPO / "export").rglob("*.py"))


def _where(path: Path) -> str:
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def ensure_model(model_dir: Path = MODEL_DIR) -> str:
    """Reuses a model trained from the current sample by the current export code and normaliser;
    else trains. Returns what it did, for the operator."""
    sample_sha = hashlib.sha256(SAMPLE_TICKETS.read_bytes()).hexdigest()
    try:
        manifest = parse_manifest((model_dir / "manifest.json").read_bytes())
        if (
            manifest.normalizer_version == NORMALIZER_VERSION
            and manifest.extra["training_data"]["sha256"] == sample_sha
            and (model_dir / manifest.model_path).is_file()
            and not _export_code_changed_since(model_dir / "manifest.json")
        ):
            return f"reusing model {manifest.version} in {_where(model_dir)}"
    except (OSError, ManifestError, KeyError):
        pass
    from export.train import train

    result = train(SAMPLE_TICKETS, model_dir, min_tickets_per_team=5, progress=False)
    metrics = result.metrics
    return (
        f"trained model {result.manifest.version} from {_where(SAMPLE_TICKETS)} "
        f"(synthetic): top-1 {metrics['top1_accuracy']:.2f}, parity "
        f"{result.manifest.extra['parity']['label_agreement']:.0%}"
    )
