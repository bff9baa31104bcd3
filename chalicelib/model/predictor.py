"""Answers questions from `model.onnx` with onnxruntime alone: what the worker and `ask` run.

Imported only by the worker (never by the API function): onnxruntime and numpy cost a few
hundred milliseconds to import.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import onnxruntime as ort

from chalicelib.model.errors import ModelLoadError
from chalicelib.model.expand import QuestionExpander
from chalicelib.text import normalize

INPUT_NAME = "text"
LABEL_OUTPUT = "label"
PROBABILITIES_OUTPUT = "probabilities"
RANKED_OUTPUT = "ranked"
"""Optional (compact graphs): each row's probabilities sorted, most likely first."""
RANKING_OUTPUT = "ranking"
"""Optional (compact graphs): the team indices of `ranked`."""
FEATURE_IDS_OUTPUT = "feature_ids"
"""Optional (compact graphs): each word's unigram id, then each word pair's bigram id, then the
unknown term's id (export/compact_graph.py)."""
TERM_IDS_OUTPUT = "term_ids"
"""Optional (compact graphs): the distinct ids of `feature_ids`."""
TERM_SCORES_OUTPUT = "term_scores"
"""Optional (compact graphs): each distinct term's part of every decision column's logit."""
LABELS_KEY = "whoknows.labels"
VERSION_KEY = "whoknows.version"
UNKNOWN_TERM_KEY = "whoknows.unknown_term"
"""Metadata: the term id every word (pair) outside the vocabulary maps to."""


class Guess(NamedTuple):
    """A tuple, not a dataclass: built three times per question on the warm path."""

    label: str
    probability: float


class Term(NamedTuple):
    """Words `start` to `end` (exclusive) of the normalised question, one of the model's terms (its
    id in the model's vocabulary), and how much it raised the top team's logit (negative: lowered
    it)."""

    start: int
    end: int
    score: float
    id: int = -1


@dataclass(frozen=True)
class Explained:
    """A ranking with what it rests on."""

    guesses: list[Guess]
    tokens: list[str]
    """The normalised question's words."""
    known_words: int
    """How many of them the model has a term for; 0 means it knows none of the question's words."""
    terms: list[Term]
    """The question's distinct known terms, the top team's strongest first; empty for models
    exported without the explanation outputs."""


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
            self._expander = QuestionExpander.from_metadata(metadata)
        except (KeyError, ValueError) as error:
            raise ModelLoadError(f"{model_path} lacks whoknows metadata ({error})") from None
        except Exception as error:  # onnxruntime raises its own untyped errors for bad files
            raise ModelLoadError(f"{model_path} is not a loadable ONNX model: {error}") from None
        self._output = [PROBABILITIES_OUTPUT]
        self._one_at_a_time = self._session.get_inputs()[0].shape[0] == 1
        outputs = {output.name for output in self._session.get_outputs()}
        self._ranked_outputs = [RANKED_OUTPUT, RANKING_OUTPUT]
        self._ranks_itself = set(self._ranked_outputs) <= outputs  # older graphs: numpy sorts
        self._explain_outputs = [
            *self._ranked_outputs,
            FEATURE_IDS_OUTPUT,
            TERM_IDS_OUTPUT,
            TERM_SCORES_OUTPUT,
        ]
        self._explains = set(self._explain_outputs) <= outputs and UNKNOWN_TERM_KEY in metadata
        self._unknown_term = int(metadata[UNKNOWN_TERM_KEY]) if self._explains else -1

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

    def words(self, question: str) -> str:
        """A raw question as the graph reads it: normalised, then each word as this model knows it
        (chalicelib.model.expand)."""
        return self.expand(normalize(question))

    def expand(self, normalized: str) -> str:
        """An already normalised text with each word as this model knows it."""
        return normalized if self._expander is None else self._expander(normalized)

    def rank(self, question: str, top: int = 3) -> list[Guess]:
        """The `top` most likely teams for a raw question, most likely first."""
        batch = np.array([[self.words(question)]], dtype=object)
        if self._ranks_itself:
            ranked, ranking = self._session.run(self._ranked_outputs, {INPUT_NAME: batch})
            values, order = ranked[0, :top].tolist(), ranking[0, :top].tolist()
            return [Guess(self.labels[i], p) for i, p in zip(order, values, strict=True)]
        probabilities = self._session.run(self._output, {INPUT_NAME: batch})[0][0]
        order = np.argsort(-probabilities, kind="stable")[:top]
        return [Guess(self.labels[i], float(probabilities[i])) for i in order]

    def explain(self, question: str, top: int = 3) -> Explained:
        """`rank`, and the question's terms by how much each raised the top team's score.

        The scores are the graph's own: a column's logit is the sum of its terms' scores plus its
        bias, so the strongest terms are exactly what made the top team win, in the model's units.
        """
        tokens = self.words(question).split()
        if not self._explains:
            guesses = self.rank(question, top)
            return Explained(guesses, tokens, len(tokens), [])
        batch = np.array([[" ".join(tokens)]], dtype=object)
        ranked, ranking, feature_ids, term_ids, term_scores = self._session.run(
            self._explain_outputs, {INPUT_NAME: batch}
        )
        order = ranking[0, :top].tolist()
        guesses = [Guess(self.labels[i], p) for i, p in zip(order, ranked[0, :top].tolist(), strict=True)]
        ids = feature_ids.reshape(-1).tolist()
        words = max(1, len(tokens))  # the graph splits "" into one (unknown) word
        unigrams, bigrams = ids[:words], ids[words:-1]
        known = sum(1 for term in unigrams[: len(tokens)] if term != self._unknown_term)
        column = self._column_scores(term_ids.tolist(), term_scores, order[0])
        spans = [(i, i + 1, term) for i, term in enumerate(unigrams[: len(tokens)])]
        spans += [(i, i + 2, term) for i, term in enumerate(bigrams)]
        seen: set[int] = set()
        terms = []
        for start, end, term in spans:
            if term != self._unknown_term and term not in seen:
                seen.add(term)
                terms.append(Term(start, end, column[term], term))
        terms.sort(key=lambda t: -t.score)
        return Explained(guesses, tokens, known, terms)

    def _column_scores(self, term_ids: list[int], term_scores: np.ndarray, team: int) -> dict[int, float]:
        """Each term's score for `team`: its own column, or with two teams the one column's
        score for the second team, negated for the first (their probabilities sum to one)."""
        if len(self.labels) == 2:
            sign = 1.0 if team == 1 else -1.0
            return {term: sign * float(row[0]) for term, row in zip(term_ids, term_scores, strict=True)}
        return {term: float(row[team]) for term, row in zip(term_ids, term_scores, strict=True)}
