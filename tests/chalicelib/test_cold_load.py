"""The first model load of a container: begun once in Lambda's init phase and handed to the worker
built after it, or started when the worker is built; never twice for one container."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from chalicelib import cold_load
from chalicelib.config import load_settings, parse_settings, reset_settings
from chalicelib.logs import Timings
from tests.support.serving import apply_env, base_env


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sample_model_dir: Path) -> Any:
    apply_env(monkeypatch, base_env(tmp_path, MODEL_URI=str(sample_model_dir)))
    reset_settings()
    yield
    cold_load.forget_begun_load()
    reset_settings()


def test_the_worker_built_after_begin_gets_the_load_begun(published: Any) -> None:
    cold_load.begin()

    holder, load = cold_load.cold_load_for(load_settings())

    assert load.result(Timings()).version and holder.loaded
    again, other = cold_load.cold_load_for(load_settings())  # taken once: a second worker starts anew
    assert again is not holder and other is not load
    other.result(Timings())


def test_a_load_begun_with_other_settings_is_not_handed_over(published: Any) -> None:
    cold_load.begin()

    holder, load = cold_load.cold_load_for(parse_settings(os.environ))

    assert load.result(Timings()).version and holder.loaded
    assert cold_load.cold_load_for(load_settings())[0] is not holder  # the begun one was dropped


def test_a_begin_that_fails_is_logged_and_left_to_the_worker(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, json_logs: Any
) -> None:
    apply_env(monkeypatch, {"MODEL_URI": str(tmp_path)})  # no signing secret, no token: invalid
    reset_settings()

    cold_load.begin()

    [logged] = json_logs.events("cold_load_not_begun")
    assert "ConfigError" in logged["error"]
