"""A real exported model, trained once per test session from the embedded synthetic sample."""

from __future__ import annotations

from pathlib import Path

import pytest

from export.sample import SAMPLE_TICKETS
from export.train import train

REAL_DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "jira-public-1.csv"


@pytest.fixture(scope="session")
def sample_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample-model")
    train(SAMPLE_TICKETS, out, min_tickets_per_team=5, progress=False)
    return out


@pytest.fixture(scope="session")
def real_data() -> Path:
    if not REAL_DATA.is_file():
        pytest.skip(f"real Jira data not found at {REAL_DATA} (it lives in ../shared, beside the clone)")
    return REAL_DATA
