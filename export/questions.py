"""How people ask, made from a ticket's summary: the question forms evaluation and the threshold
are measured on.

People do not paste tickets into Slack. They type a topic, often in lower case, with a "who knows
about …?" around it, sometimes with Slack markup, sometimes in three words. Each form below turns a
held-out ticket's summary into such a question (`ticket` is the whole ticket, the form training
itself reads), so the figures say how the bot does on questions, not only on tickets.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from chalicelib.slack.markup import escape

_PUNCTUATION = re.compile(r"[^\w\s]")

QUESTION_FORMS: dict[str, Callable[[str], str]] = {
    "summary as written": lambda summary: summary,
    'lower case "who knows about …?"': lambda summary: f"who knows about {summary.lower()}?",
    "lower case, no punctuation": lambda summary: " ".join(_PUNCTUATION.sub(" ", summary.lower()).split()),
    "with Slack markup": lambda summary: (
        f"<@U0WHOKNOWS> who can help with <https://issues.example.com/browse|{escape(summary)}>? <!here>"
    ),
    "first four words": lambda summary: " ".join(summary.split()[:4]),
}
"""Question forms by name: summary (as the ticket has it) -> what a person would type."""

TICKET_FORM = "ticket text"
"""The whole ticket (summary and description), as training reads it."""

THRESHOLD_FORMS = (
    "summary as written",
    'lower case "who knows about …?"',
    "lower case, no punctuation",
    "first four words",
)
"""The mix of forms the confidence threshold is chosen on: how questions arrive, not tickets."""
