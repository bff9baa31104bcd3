"""Answers questions from `model.onnx` with onnxruntime alone: what the worker and `ask` run.

Imported only by the worker (never by the API function): onnxruntime and numpy cost a few
hundred milliseconds to import.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import onnxruntime as ort

from chalicelib.model.errors import ModelLoadError
from chalicelib.text import normalize

INPUT_NAME = "text"
LABEL_OUTPUT = "label"
PROBABILITIES_OUTPUT = "probabilities"
RANKED_OUTPUT = "ranked"
"""Optional (compact graphs): each row's probabilities sorted, most likely first."""
RANKING_OUTPUT = "ranking"
"""Optional (compact graphs): the team indices of `ranked`."""
LABELS_KEY = "whoknows.labels"
VERSION_KEY = "whoknows.version"


class Guess(NamedTuple):
    """A tuple, not a dataclass: built three times per question on the warm path."""

    label: str
    probability: float


class Predictor:
    """One onnxruntime session, single-threaded: Lambda gives a fraction of a core per request
    and thread start-up would cost more than the few microseconds a question needs."""

    def __init__(self, model_path: Path | str) -> None:
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
            metadata = self._session.get_modelmeta().custom_metadata_map
            self.labels: tuple[str, ...] = tuple(json.loads(metadata[LABELS_KEY]))
            self.version: str = metadata.get(VERSION_KEY, "unknown")
        except (KeyError, ValueError) as error:
            raise ModelLoadError(f"{model_path} lacks whoknows metadata ({error})") from None
        except Exception as error:  # onnxruntime raises its own untyped errors for bad files
            raise ModelLoadError(f"{model_path} is not a loadable ONNX model: {error}") from None
        self._output = [PROBABILITIES_OUTPUT]
        self._one_at_a_time = self._session.get_inputs()[0].shape[0] == 1
        outputs = {output.name for output in self._session.get_outputs()}
        self._ranked_outputs = [RANKED_OUTPUT, RANKING_OUTPUT]
        self._ranks_itself = set(self._ranked_outputs) <= outputs  # older graphs: numpy sorts

    def probabilities(self, normalized_texts: Sequence[str]) -> np.ndarray:
        """Per-team probabilities, columns in `labels` order, for already-normalised texts.

        Compact graphs take one question per run (see export/compact_graph.py): a batch is looped.
        """
        texts = list(normalized_texts)
        if self._one_at_a_time and len(texts) != 1:
            rows = [
                self._session.run(self._output, {INPUT_NAME: np.array([[t]], dtype=object)})[0] for t in texts
            ]
            return np.concatenate(rows) if rows else np.zeros((0, len(self.labels)), dtype=np.float32)
        batch = np.array(texts, dtype=object).reshape(-1, 1)
        return self._session.run(self._output, {INPUT_NAME: batch})[0]

    def rank(self, question: str, top: int = 3) -> list[Guess]:
        """The `top` most likely teams for a raw question, most likely first."""
        batch = np.array([[normalize(question)]], dtype=object)
        if self._ranks_itself:
            ranked, ranking = self._session.run(self._ranked_outputs, {INPUT_NAME: batch})
            values, order = ranked[0, :top].tolist(), ranking[0, :top].tolist()
            return [Guess(self.labels[i], p) for i, p in zip(order, values, strict=True)]
        probabilities = self._session.run(self._output, {INPUT_NAME: batch})[0][0]
        order = np.argsort(-probabilities, kind="stable")[:top]
        return [Guess(self.labels[i], float(probabilities[i])) for i in order]
