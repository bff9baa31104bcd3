"""A question's words as the model knows them: the step between the normaliser and the model.

People type identifiers in lower case ("hiveserver2", "testnamenodemetrics"), without the capitals
the normaliser splits tickets at. Two fixes, both from data the model carries in its metadata
(`expander_metadata`, written at training):

- a known camelCase compound typed in lower case is written the way the normaliser wrote it in
  training tickets ("hiveserver2" -> "hive server2 hiveserver2"), so it brings its parts and their
  bigrams too;
- an unknown run-together word is split into known words, the longest first piece first
  ("testnamenodemetrics" -> "test name node metrics").

Plain Python on sets and dicts: a question costs a few microseconds (a set lookup per word, a split
only for an unknown word). Its output is an ordinary normalised string, so scikit-learn and the
ONNX graph still get the same input (the parity gate is unaffected). On the time split of the real
Apache Jira data it lifts lower-case "who knows about <summary>?" questions' top-1 from 0.75 to
0.83 (docs/performance.md).
"""

from __future__ import annotations

from collections.abc import Mapping

from chalicelib.text import camel_parts

WORDS_KEY = "whoknows.words"
COMPOUNDS_KEY = "whoknows.compounds"

MIN_SPLIT_CHARS = 4
MAX_PIECE_CHARS = 24
CACHE_SIZE = 4096


class QuestionExpander:
    def __init__(self, words: frozenset[str], compounds: dict[str, str]) -> None:
        self.words = words
        self.compounds = compounds  # "hiveserver2" -> "hive server2 hiveserver2"
        self._splits: dict[str, str | None] = {}

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, str]) -> QuestionExpander | None:
        """From the two newline-separated lists `expander_metadata` wrote; None for a model
        without them (its questions go to the graph as normalised)."""
        if WORDS_KEY not in metadata:
            return None
        words, compounds = metadata[WORDS_KEY], metadata.get(COMPOUNDS_KEY, "")
        parts = compounds.split("\n") if compounds else []
        return cls(
            frozenset(words.split("\n")) if words else frozenset(),
            {p.replace(" ", ""): f"{p} {p.replace(' ', '')}" for p in parts},
        )

    def __call__(self, normalized: str) -> str:
        """The normalised question with each word as the model knows it."""
        words, compounds = self.words, self.compounds
        tokens = normalized.split(" ")
        if words.issuperset(tokens) and compounds.keys().isdisjoint(tokens):
            return normalized  # the common case, decided at C speed
        changed = False
        for k, token in enumerate(tokens):
            if token in words:
                written = compounds.get(token)
            elif len(token) >= MIN_SPLIT_CHARS and not token.isdigit():
                written = self._split_cached(token)
            else:
                continue
            if written is not None:
                tokens[k] = written
                changed = True
        return " ".join(tokens) if changed else normalized

    def _split_cached(self, token: str) -> str | None:
        splits = self._splits
        if token in splits:
            return splits[token]
        written = self.split(token)
        if len(splits) < CACHE_SIZE:
            splits[token] = written
        return written

    def split(self, token: str) -> str | None:
        """`token` as two or more known words (each >= 2 characters, or a digit), longest first
        piece first with backtracking; None when there is no such split."""
        words = self.words
        n = len(token)
        pieces: list[str] = []
        dead_ends: set[int] = set()

        def walk(start: int) -> bool:
            if start == n:
                return True
            if start in dead_ends:
                return False
            for end in range(min(n, start + MAX_PIECE_CHARS), start + 1, -1):
                if token[start:end] in words:
                    pieces.append(token[start:end])
                    if walk(end):
                        return True
                    pieces.pop()
            if token[start].isdigit() and token[start] in words:
                pieces.append(token[start])
                if walk(start + 1):
                    return True
                pieces.pop()
            dead_ends.add(start)
            return False

        return " ".join(pieces) if walk(0) and len(pieces) > 1 else None


def expander_metadata(
    vocabulary: Mapping[str, int], identifiers: Mapping[str, int], min_count: int = 3
) -> dict[str, str]:
    """The expander's data for a fitted vocabulary: its single words, and the camelCase identifiers
    seen at least `min_count` times in training whose joined form and parts are all known words."""
    words = {term for term in vocabulary if " " not in term}
    counts: dict[str, int] = {}
    parts_of: dict[str, str] = {}
    for word, count in identifiers.items():
        joined = word.lower()
        counts[joined] = counts.get(joined, 0) + count
        parts_of.setdefault(joined, " ".join(camel_parts(word)))
    compounds = sorted(
        parts
        for joined, parts in parts_of.items()
        if counts[joined] >= min_count
        and joined in words
        and " " in parts
        and parts.replace(" ", "") == joined
        and all(p in words for p in parts.split(" "))
    )
    return {WORDS_KEY: "\n".join(sorted(words)), COMPOUNDS_KEY: "\n".join(compounds)}
