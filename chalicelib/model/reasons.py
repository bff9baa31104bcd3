"""Why the top team: the question's words that raised its score most, as the person typed them.

The model's terms are normalised ("hive server2", "jdbc driver"); the person wrote "HiveServer2" and
"JDBC driver". Each term is found again in the question (letters and digits in order, anything
else between them) and shown as the whole words it sits in. A term that cannot be found (accents
folded away, a word the expander split) is shown as the model has it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from chalicelib.text import ascii_fold

if TYPE_CHECKING:
    from chalicelib.model.predictor import Explained

MAX_REASONS = 3
MIN_SHARE = 0.25
"""A term weaker than this share of the strongest one ("the", "is") explains nothing."""
_WORD_CHAR = re.compile(r"[A-Za-z0-9]")


def reasons(question: str, explained: Explained, limit: int = MAX_REASONS) -> list[str]:
    """Up to `limit` phrases of `question` (plain text) behind the top team, strongest first.

    Only terms that raised the top team's score by at least `MIN_SHARE` of the strongest one count,
    a term overlapping a stronger one's words is left out, and so is one the question does not show
    (a pair the expander made up), so each phrase says something new in the person's words. If none
    can be found, the model's own terms.
    """
    folded = ascii_fold(question)
    same_length = len(folded) == len(question)
    typed: list[str] = []
    model_terms: list[str] = []
    covered: set[int] = set()
    floor = MIN_SHARE * explained.terms[0].score if explained.terms else 0.0
    for term in explained.terms:
        if term.score <= 0 or term.score < floor or len(typed) == limit:
            break
        span = set(range(term.start, term.end))
        if span & covered:
            continue
        words = explained.tokens[term.start : term.end]
        model_terms.append(" ".join(words))
        phrase = _as_typed(question, folded, words) if same_length else None
        if phrase is not None and phrase.lower() not in (t.lower() for t in typed):
            covered |= span
            typed.append(phrase)
    return typed or model_terms[:limit]


def _as_typed(question: str, folded: str, words: Sequence[str]) -> str | None:
    """The whole words of `question` the normalised `words` came from, or None if not found."""
    pattern = r"[\W_]*".join(re.escape(word) for word in words)
    match = re.search(pattern, folded, re.IGNORECASE)
    if match is None:
        return None
    start, end = match.start(), match.end()
    while start > 0 and _WORD_CHAR.match(folded[start - 1]):
        start -= 1
    while end < len(folded) and _WORD_CHAR.match(folded[end]):
        end += 1
    return question[start:end]
