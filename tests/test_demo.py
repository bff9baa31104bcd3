"""`make demo` / `python -m scripts.demo`: a question without words answers with the usage at once."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from scripts.local_server import REPO


@pytest.mark.parametrize("question", ["", "   "])
def test_an_empty_question_gets_the_usage_at_once(question: str) -> None:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "scripts.demo", question],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    elapsed = time.perf_counter() - started

    assert result.returncode == 2
    assert result.stderr.startswith("usage: make demo")
    assert (
        'give a question, e.g. make demo, or .venv/bin/python -m scripts.demo "who owns the refund API?"'
        in (result.stderr)
    )
    assert result.stdout == ""  # no model trained, no server started
    assert elapsed < 10  # an interpreter's start and imports, never the 30 s answer wait
