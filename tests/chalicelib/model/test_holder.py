"""ModelHolder over a real exported ONNX model: lazy load, warm reuse, refresh, safe swaps."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from chalicelib.logs import Timings
from chalicelib.model.errors import ModelCorrupt, ModelLoadError, ModelNotFound, ModelRejected
from chalicelib.model.holder import LOAD_THREAD, ModelHolder
from chalicelib.model.manifest import MANIFEST_NAME
from chalicelib.model.store import ModelStore
from export.publish import publish
from tests.support.serving import broken_variant, model_variant

SAMPLE_LABELS = {"PAYMENTS", "PLATFORM", "DATA", "IDENTITY", "MOBILE", "SEARCH"}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _holder(uri: str, cache: Path, refresh: float = 300, clock: Any = None) -> ModelHolder:
    return ModelHolder(ModelStore(uri, cache), refresh, clock=clock or Clock())


def test_cold_load_from_s3_then_warm_reuse(sample_model_dir: Path, s3_bucket: Any, tmp_path: Path) -> None:
    client, bucket = s3_bucket
    publish(sample_model_dir, f"s3://{bucket}/models", client)
    holder = _holder(f"s3://{bucket}/models", tmp_path / "cache")

    first = holder.get()
    second = holder.get()

    assert second is first
    assert set(first.predictor.labels) == SAMPLE_LABELS
    [guess, *_] = first.predictor.rank("refund stuck in pending after checkout")
    assert guess.label == "PAYMENTS"


def test_refresh_picks_up_a_new_model_only_after_the_interval(
    sample_model_dir: Path, tmp_path: Path, json_logs: Any
) -> None:
    live = model_variant(sample_model_dir, tmp_path / "live", "v1")
    clock = Clock()
    holder = _holder(str(live), tmp_path / "cache", refresh=60, clock=clock)
    assert holder.get().version == "v1"

    model_variant(sample_model_dir, live, "v2")
    assert holder.get().version == "v1"  # within the interval: no pointer read at all
    clock.now += 60
    assert holder.get().version == "v2"
    assert json_logs.events("model_swapped")[0]["previous_version"] == "v1"


@pytest.mark.parametrize("breakage", ["not_onnx", "sha_mismatch", "labels", "normalizer"])
def test_a_bad_new_model_never_replaces_a_good_one(
    sample_model_dir: Path, tmp_path: Path, json_logs: Any, breakage: str
) -> None:
    live = model_variant(sample_model_dir, tmp_path / "live", "v1")
    holder = _holder(str(live), tmp_path / "cache", refresh=0)
    assert holder.get().version == "v1"

    if breakage == "not_onnx":
        broken_variant(sample_model_dir, live, "v2")
    else:
        model_variant(sample_model_dir, live, "v2")
        manifest = json.loads((live / MANIFEST_NAME).read_text())
        if breakage == "sha_mismatch":
            manifest["sha256"] = "0" * 64
        elif breakage == "labels":
            manifest["labels"] = [*manifest["labels"][:-1], "RENAMED"]
        else:
            manifest["normalizer_version"] = "999"
        (live / MANIFEST_NAME).write_text(json.dumps(manifest))

    model = holder.get()

    assert model.version == "v1"
    assert model.predictor.rank("password reset email never arrives")
    [failure] = json_logs.events("model_refresh_failed")
    assert failure["wanted_version"] == "v2" and failure["level"] == "WARNING"


def test_a_failed_new_model_is_retried_at_the_next_interval(sample_model_dir: Path, tmp_path: Path) -> None:
    live = model_variant(sample_model_dir, tmp_path / "live", "v1")
    holder = _holder(str(live), tmp_path / "cache", refresh=0)
    holder.get()
    good_v2 = model_variant(sample_model_dir, tmp_path / "v2", "v2")
    broken_variant(sample_model_dir, live, "v2")
    (live / "model.onnx").write_bytes(b"x")  # the model is not there yet (manifest says otherwise)
    assert holder.get().version == "v1"

    # The same pointer, now with its model in place: the pointer has not changed, the retry works.
    (live / "model.onnx").write_bytes((good_v2 / "model.onnx").read_bytes())
    (live / MANIFEST_NAME).write_text((good_v2 / MANIFEST_NAME).read_text())
    assert holder.get().version == "v2"


def test_cold_failures_raise_the_store_or_load_error(sample_model_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound):
        _holder(str(tmp_path / "nothing"), tmp_path / "cache").get()

    corrupt = model_variant(sample_model_dir, tmp_path / "corrupt", "v1")
    (corrupt / "model.onnx").write_bytes((corrupt / "model.onnx").read_bytes()[:-1] + b"!")
    with pytest.raises(ModelCorrupt):
        _holder(str(corrupt), tmp_path / "cache").get()

    broken = broken_variant(sample_model_dir, tmp_path / "broken", "v1")
    with pytest.raises(ModelLoadError):
        _holder(str(broken), tmp_path / "cache").get()

    renamed = model_variant(sample_model_dir, tmp_path / "renamed", "v1")
    manifest = json.loads((renamed / MANIFEST_NAME).read_text())
    manifest["normalizer_version"] = "0"
    (renamed / MANIFEST_NAME).write_text(json.dumps(manifest))
    with pytest.raises(ModelRejected):
        _holder(str(renamed), tmp_path / "cache").get()


# --- the first load on its own thread (Lambda's init phase) ---------------------------------------


class GatedStore(ModelStore):
    """A real file store whose pointer read waits until the test opens the gate, noting the thread."""

    def __init__(self, uri: str, cache: Path) -> None:
        super().__init__(uri, cache)
        self.gate = threading.Event()
        self.readers: list[str] = []

    def read_manifest(self) -> Any:
        self.readers.append(threading.current_thread().name)
        assert self.gate.wait(20)
        return super().read_manifest()


def _join_load_threads() -> None:
    for thread in threading.enumerate():
        if thread.name.startswith(LOAD_THREAD):
            thread.join(20)


def test_start_loading_loads_on_its_thread_and_the_next_get_waits_for_it(
    sample_model_dir: Path, tmp_path: Path, json_logs: Any
) -> None:
    store = GatedStore(str(model_variant(sample_model_dir, tmp_path / "live", "v1")), tmp_path / "cache")
    holder = ModelHolder(store, 300, clock=Clock())

    holder.start_loading()
    holder.start_loading()  # one load, however often it is asked for
    assert not holder.loaded
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(holder.get, timings := Timings())
        time.sleep(0.2)  # the caller is now waiting for the load
        store.gate.set()
        assert waiting.result(20).version == "v1"

    assert len(store.readers) == 1 and store.readers[0].startswith(LOAD_THREAD)
    assert "model_wait_ms" in timings
    assert len(json_logs.events("model_loaded")) == 1


def test_a_failed_first_load_is_raised_to_its_waiting_caller_and_a_later_caller_loads_anew(
    sample_model_dir: Path, tmp_path: Path
) -> None:
    live = tmp_path / "live"
    live.mkdir()  # nothing published yet
    store = GatedStore(str(live), tmp_path / "cache")
    holder = ModelHolder(store, 300, clock=Clock())

    holder.start_loading()
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(holder.get)
        time.sleep(0.2)
        store.gate.set()
        with pytest.raises(ModelNotFound):
            waiting.result(20)
    _join_load_threads()
    assert len(store.readers) == 1  # the waiting caller took the load's failure, no second read

    model_variant(sample_model_dir, live, "v2")
    assert holder.get().version == "v2"
    assert len(store.readers) == 2


def test_an_index_that_is_not_wanted_is_not_fetched_and_cannot_refuse_the_model(
    sample_model_dir: Path, tmp_path: Path
) -> None:
    live = model_variant(sample_model_dir, tmp_path / "live", "v1")
    (live / "tickets.npz").write_bytes(b"damaged")  # its sha256 no longer matches the manifest

    with pytest.raises(ModelCorrupt, match="ticket index"):
        _holder(str(live), tmp_path / "cache").get()
    loaded = ModelHolder(
        ModelStore(str(live), tmp_path / "cache"), 300, clock=Clock(), ticket_index=False
    ).get()
    assert loaded.version == "v1" and loaded.index is None
