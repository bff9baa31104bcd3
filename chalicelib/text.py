"""Text normalisation shared by training (tickets) and serving (Slack questions).

The ONNX graph tokenises on single spaces only, so every decision about what counts as a word is
made here, in plain Python, once. Training and serving both call `normalize`, which is what makes
scikit-learn and onnxruntime agree exactly and keeps the two from drifting apart.

Pure standard library: this module is imported by the API function, which must stay light.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

from chalicelib.slack.markup import unescape

# Bump whenever `normalize` changes output: the manifest records it and the worker refuses a
# model trained with a different normaliser instead of silently answering worse.
NORMALIZER_VERSION = "3"

# Huge log dumps (up to 1.5 MB in real Jira data) carry no more signal after the first pages and
# would make training and serving slow; cut them before any regex work.
MAX_INPUT_CHARS = 20_000
MAX_TOKENS = 1_500
MAX_TOKEN_CHARS = 40

# Slack: <@U123>, <@U123|name>, <!here>, <!subteam^S1|@team>, <#C123|general>, <https://x|label>,
# <!date^1392734382^{date}|Feb 18>. A group or a date keeps its label (what a person reads); user
# mentions and broadcasts go. Slack's text is escaped (&amp; &lt; &gt;): unescaped once, the entities
# are the characters they stand for, not the words "amp", "lt" and "gt". Emoji codes (:fire:) are
# not words; a colon run inside a word (10:30:45, ERROR:root:) is left alone.
_SLACK_LABELLED = re.compile(r"<!(?:subteam|date)\^[^>|]*\|([^>]*)>")
_SLACK_MENTION = re.compile(r"<[@!][^>\s]*>")
_SLACK_CHANNEL = re.compile(r"<#[A-Z0-9]+(?:\|([^>]*))?>")
_SLACK_LINK = re.compile(r"<((?:https?|mailto):[^>|\s]*)(?:\|([^>]*))?>")
_EMOJI = re.compile(r"(?<!\w):[a-z0-9_+'-]+:(?!\w)")

# Jira wiki markup. Block macros keep their content (stack traces name the component that broke,
# the strongest signal there is) but lose the macro markers and their parameters.
_JIRA_MACRO = re.compile(r"\{(?:code|noformat|quote|panel|color|html|sql|java|xml)(?::[^}]*)?\}", re.I)
_JIRA_LINK = re.compile(r"\[(?:([^|\]\n]*)\|)?\s*((?:https?|file|mailto):[^\]\s]*|~[^\]]*|\^[^\]]*)\s*\]")
_JIRA_HEADING = re.compile(r"(?m)^\s*(?:h[1-6]|bq)\.\s")
_JIRA_TABLE_HEADER = re.compile(r"\|\|")
_URL = re.compile(r"\b(?:https?|ftp)://\S+")

# Identifiers are written as their parts split at case changes, then as themselves
# (HiveServer2 -> hive server2 hiveserver2, FSNamesystem -> fs namesystem fsnamesystem): new class
# names appear every release, but their parts name the component; the whole word is what a person
# types in lower case, and it shares its bigram with the next word with the tickets.
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_CAMEL_WORD = re.compile(r"(?<![A-Za-z0-9])(?=[A-Za-z0-9]*?(?:[a-z0-9][A-Z]|[A-Z][A-Z][a-z]))[A-Za-z0-9]++")
"""A whole alphanumeric run with at least one case change inside (possessive: no backtracking)."""
_WORD = re.compile(r"[a-z0-9]+")

# How people wrap a topic when asking for someone, removed once at the start of the words: "who
# knows about", "does anyone know", "can someone help me with", "who should I ask about". They are
# no team's signal, and their bigrams with the topic's first word never occur in tickets. A text
# that is nothing but a frame ("who knows?") has no topic left: it normalises to "".
_FRAME_PARTS = (
    r"(?:hey|hi|hello|yo)(?: (?:all|team|folks|everyone|there))?",
    r"(?:please|pls|quick question|question)",
    r"(?:(?:does|do) )?(?:anyone|anybody|someone|somebody) (?:here )?"
    r"(?:knows?|familiar with|understands?|owns?|works? on)"
    r"(?: (?:anything|something|much))?(?: about| of| on| with)?",
    r"(?:can|could) (?:anyone|anybody|someone|somebody|you) help(?: me| us)?(?: with| on| about)?",
    r"who (?:knows|(?:can|could) help(?: me| us)?|owns|maintains|(?:is|s) responsible for"
    r"|(?:is|s) (?:the|an) expert|understands|works on|handles|looks after)"
    r"(?: (?:anything|something|much|more))?(?: about| with| on| for| of| in)?",
    r"who (?:do|should|can|could) (?:i|we) (?:ask|talk to|contact|ping)(?: about| for| on| regarding)?",
    r"(?:help(?: me)? with|help|questions? (?:about|on))",
)
_FRAME = re.compile("(?:(?:{}) )+".format("|".join(_FRAME_PARTS)))
_FRAME_STARTS = frozenset(
    [
        "hey",
        "hi",
        "hello",
        "yo",
        "please",
        "pls",
        "quick",
        "question",
        "questions",
        "does",
        "do",
        "anyone",
        "anybody",
        "someone",
        "somebody",
        "can",
        "could",
        "who",
        "help",
    ]
)
"""The first words a frame can start with: any other first word skips the frame pattern."""


def strip_markup(text: str) -> str:
    """Removes Slack and Jira markup, keeping the words a person would read.

    Each pattern runs only when the character it starts with is present: most questions have no
    markup, and this keeps normalising one well under the model's own prediction time.
    """
    if "<" in text:
        text = _SLACK_LABELLED.sub(lambda m: f" {m.group(1)} ", text)
        text = _SLACK_MENTION.sub(" ", text)
        text = _SLACK_CHANNEL.sub(lambda m: f" {m.group(1) or ''} ", text)
        text = _SLACK_LINK.sub(lambda m: f" {m.group(2) or ''} ", text)
    if "&" in text:
        text = unescape(text)
    if ":" in text:
        text = _EMOJI.sub(" ", text)
    if "{" in text:
        text = _JIRA_MACRO.sub(" ", text)
    if "[" in text:
        text = _JIRA_LINK.sub(lambda m: f" {m.group(1) or ''} ", text)
    if "." in text:
        text = _JIRA_HEADING.sub(" ", text)
    if "||" in text:
        text = _JIRA_TABLE_HEADER.sub(" ", text)
    if "://" in text:
        text = _URL.sub(" ", text)
    return text


def ascii_fold(text: str) -> str:
    """Maps accented letters to their base letter (café -> cafe) and drops what has none."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return decomposed.encode("ascii", "ignore").decode("ascii")


def _prepared(text: str) -> str:
    return ascii_fold(strip_markup(text[:MAX_INPUT_CHARS]))


def _camel_parts_then_word(match: re.Match[str]) -> str:
    word = match.group(0)
    return f"{_CAMEL_BOUNDARY.sub(' ', word)} {word}"


def _words(text: str) -> str:
    # A case change needs an upper-case letter after the first character: a question that only
    # starts with a capital (half of them) skips the pattern.
    lower = text.lower() if text[1:].islower() else _CAMEL_WORD.sub(_camel_parts_then_word, text).lower()
    tokens = _WORD.findall(lower)[:MAX_TOKENS]
    if max(map(len, tokens), default=0) > MAX_TOKEN_CHARS:  # rare: hashes, encoded blobs
        tokens = [t for t in tokens if len(t) <= MAX_TOKEN_CHARS]
    words = " ".join(tokens)
    if tokens and tokens[0] in _FRAME_STARTS:
        frame = _FRAME.match(words + " ")
        if frame:
            words = words[frame.end() :]
    return words


def normalize(text: str | None) -> str:
    """Returns lowercase ASCII word tokens joined by single spaces; '' when nothing is left."""
    if not text:
        return ""
    return _words(_prepared(text))


def ticket_text(summary: str | None, description: str | None, identifiers: Counter[str] | None = None) -> str:
    """Joins a ticket's fields the one way training uses; the summary goes first so it survives
    truncation of long descriptions. With `identifiers`, also counts the ticket's camelCase
    identifiers (training ships the common ones with the model: chalicelib.model.expand)."""
    text = f"{summary or ''}\n{description or ''}"
    prepared = _prepared(text)
    if identifiers is not None and not prepared[1:].islower():
        identifiers.update(_CAMEL_WORD.findall(prepared))
    return _words(prepared)


def camel_parts(identifier: str) -> list[str]:
    """An identifier's parts as the normaliser writes them (HiveServer2 -> [hive, server2])."""
    return _WORD.findall(_CAMEL_BOUNDARY.sub(" ", identifier).lower())
