"""The worker's current model: loaded once, kept warm, swapped only for a new model that works.

Cold: read the pointer, fetch and verify the model (ModelStore), open it (Predictor), check it
against its manifest. On Lambda that first load starts in the init phase on a thread of its own
(`start_loading`), so the worker's other set-up overlaps the model's reads; whoever asks for the
model next waits for that load and gets its outcome, failure included. Warm: nothing, except that
at most every `refresh_seconds` the pointer is re-read (a conditional GET). A new model replaces the
current one only after it was downloaded, verified and loaded; a bad new model is logged and retried
at the next interval, and the good one keeps answering. The team directory published with a model
(the manifest's `team_directory`) is fetched, verified and parsed with it and swapped in together;
a pointer that names only a new directory for the same model swaps the directory alone, without
reopening the model.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from chalicelib import logs
from chalicelib.model.errors import ModelRejected, ModelStoreError
from chalicelib.model.manifest import Manifest
from chalicelib.model.store import ModelStore
from chalicelib.model.teams import TeamDirectory, TeamDirectoryError
from chalicelib.text import NORMALIZER_VERSION

if TYPE_CHECKING:
    from chalicelib.model.predictor import Predictor
    from chalicelib.model.ticket_index import TicketIndex

_log = logs.get_logger(__name__)

LOAD_THREAD = "whoknows-model-load"
"""The name (prefix) of the thread `start_loading` runs the first load on."""


@dataclass(frozen=True)
class LoadedModel:
    predictor: Predictor
    manifest: Manifest
    directory: TeamDirectory | None = None
    """The team directory published with the model; None: the worker falls back to TEAM_DIRECTORY."""
    index: TicketIndex | None = None
    """Past tickets to show as evidence, published with the model; None: answers show none."""

    @property
    def version(self) -> str:
        return self.manifest.version


def _open_predictor(path: Path) -> Predictor:
    # Imported at the first load, not with this module: onnxruntime's and numpy's import then runs
    # while the model's reads wait on the network (see `start_loading`).
    from chalicelib.model.predictor import Predictor

    return Predictor(path)


class ModelHolder:
    """Thread-safe (local mode runs jobs on threads); on Lambda one job at a time holds the lock."""

    def __init__(
        self,
        store: ModelStore,
        refresh_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        ticket_index: bool = True,
    ) -> None:
        """`ticket_index=False` never fetches the index the model ships (answers show no evidence):
        a feature switched off costs no download and cannot refuse a model."""
        self._store = store
        self._refresh_seconds = refresh_seconds
        self._clock = clock
        self._with_index = ticket_index
        self._lock = threading.Lock()
        """Held while a model is loaded or refreshed: one load at a time."""
        self._first_load_lock = threading.Lock()
        """Guards `_first_load` only, so starting the load never waits for one under way."""
        self._current: LoadedModel | None = None
        self._first_load: Future[LoadedModel] | None = None
        self._wanted: Manifest | None = None
        """The newest manifest the pointer named; may differ from the current one after a failure."""
        self._checked_at: float | None = None

    @property
    def loaded(self) -> bool:
        """Whether a model is in hand; False until the first successful load (a cold container)."""
        return self._current is not None

    def start_loading(self) -> None:
        """Begins the first load on a thread and returns at once.

        Most of a cold worker's time is imports and client set-up under one GIL; what a thread can
        overlap with them is the time nothing holds it: the model's reads, onnxruntime building its
        session. The thread is not a daemon: the interpreter waits for it rather than exit while it
        is inside OpenSSL or onnxruntime.
        """
        with self._first_load_lock:
            if self._current is not None or self._first_load is not None:
                return
            pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=LOAD_THREAD)
            self._first_load = pool.submit(self._load_first)
            pool.shutdown(wait=False)  # its one thread ends with this one task

    def get(self, timings: logs.Timings | None = None) -> LoadedModel:
        """The model to answer with; raises ModelStoreError, ModelLoadError or ModelRejected when
        there is none (cold start failed). A warm holder never raises: it keeps its model."""
        timings = timings if timings is not None else logs.Timings()
        self._wait_for_first_load(timings)
        with self._lock:
            if self._current is None:
                self._load_cold(timings)
            elif self._refresh_due():
                self._refresh(timings)
            assert self._current is not None
            return self._current

    def _wait_for_first_load(self, timings: logs.Timings) -> None:
        """Waits for `start_loading`'s load while it runs; its failure is raised to the callers that
        waited for it. A caller arriving after it ended finds the model, or loads anew."""
        first = self._first_load
        if first is not None:
            with timings.measure("model_wait"):
                first.result()

    def _load_first(self) -> LoadedModel:
        try:
            with self._lock:
                return self._current or self._load_cold(logs.Timings())
        finally:
            with self._first_load_lock:
                self._first_load = None

    def _load_cold(self, timings: logs.Timings) -> LoadedModel:
        with timings.measure("model_load"):
            self._checked_at = self._clock()
            self._current = self._load(self._read_pointer())
        logs.info(
            _log,
            "model_loaded",
            model_version=self._current.version,
            team_directory_sha256=_short_sha(self._current.manifest),
            cold=True,
            model_load_ms=timings.get("model_load_ms"),
        )
        return self._current

    def _refresh_due(self) -> bool:
        assert self._checked_at is not None  # set with the first model
        return self._clock() - self._checked_at >= self._refresh_seconds

    def _read_pointer(self) -> Manifest:
        manifest = self._store.read_manifest()
        if manifest is not None:
            self._wanted = manifest
        if self._wanted is None:  # cannot happen on a fresh store; guards against a reused one
            raise ModelStoreError(f"no manifest read from {self._store.uri}")
        return self._wanted

    def _refresh(self, timings: logs.Timings) -> None:
        assert self._current is not None
        self._checked_at = self._clock()
        old = self._current.manifest
        try:
            with timings.measure("model_refresh"):
                wanted = self._read_pointer()
                same_model = wanted.sha256 == old.sha256 and wanted.version == old.version
                if same_model and wanted.team_directory == old.team_directory:
                    return
                if same_model:  # only a new team directory: the open model and its index stay
                    current = self._current
                    candidate = LoadedModel(current.predictor, wanted, self._directory(wanted), current.index)
                else:
                    candidate = self._load(wanted)
        except Exception as error:  # anything: the good model must keep answering
            logs.warning(
                _log,
                "model_refresh_failed",
                model_version=old.version,
                wanted_version=self._wanted.version if self._wanted else None,
                error=logs.error_text(error),
                retry_in_s=self._refresh_seconds,
            )
            return
        self._current = candidate
        logs.info(
            _log,
            "model_swapped",
            previous_version=old.version,
            model_version=candidate.version,
            team_directory_sha256=_short_sha(candidate.manifest),
            model_refresh_ms=timings.get("model_refresh_ms"),
        )

    def _load(self, manifest: Manifest) -> LoadedModel:
        if manifest.normalizer_version != NORMALIZER_VERSION:
            raise ModelRejected(
                f"model {manifest.version} was trained with normaliser {manifest.normalizer_version}, "
                f"this code has {NORMALIZER_VERSION}: retrain or deploy matching code"
            )
        path = self._store.fetch_model(manifest)
        predictor = _open_predictor(path)
        if set(predictor.labels) != set(manifest.labels) or len(predictor.labels) != len(manifest.labels):
            raise ModelRejected(
                f"model {manifest.version} labels {sorted(predictor.labels)} differ from its manifest's "
                f"{sorted(manifest.labels)}"
            )
        index = self._ticket_index(manifest) if self._with_index else None
        return LoadedModel(predictor, manifest, self._directory(manifest), index)

    def _ticket_index(self, manifest: Manifest) -> TicketIndex | None:
        """The manifest's ticket index, verified (ModelCorrupt) and readable (ModelRejected)."""
        raw = self._store.fetch_ticket_index(manifest)
        if raw is None:
            return None
        from chalicelib.model.ticket_index import TicketIndex, TicketIndexError

        try:
            return TicketIndex.load(io.BytesIO(raw))
        except TicketIndexError as error:
            raise ModelRejected(f"model {manifest.version}'s ticket index is invalid: {error}") from None

    def _directory(self, manifest: Manifest) -> TeamDirectory | None:
        """The manifest's team directory, verified (ModelCorrupt) and valid (ModelRejected)."""
        raw = self._store.fetch_directory(manifest)
        if raw is None:
            return None
        assert manifest.team_directory is not None
        try:
            return TeamDirectory.parse(raw, manifest.team_directory.path)
        except TeamDirectoryError as error:
            raise ModelRejected(f"model {manifest.version}'s team directory is invalid: {error}") from None


def _short_sha(manifest: Manifest) -> str | None:
    return manifest.team_directory.sha256[:12] if manifest.team_directory else None
