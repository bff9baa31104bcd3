"""Slack's text formatting, read back: the text Slack sends, as a person reads it or echoed safely.

Slack sends message and command text mrkdwn-escaped (`&` `<` `>` as `&amp;` `&lt;` `&gt;`) with
markup in angle brackets: `<@U123|name>`, `<#C123|name>`, `<https://x|label>`, `<!here>`,
`<!subteam^S1|@team>`, `<!date^…|fallback>`. Because `<` and `>` typed by a person always arrive
escaped, every `<…>` in Slack's text is markup. Job.question keeps that text as Slack sent it; this
module turns it into what a person reads (`to_plain`) or into mrkdwn fit to be echoed inside our own
messages (`to_mrkdwn`), never escaping or unescaping twice. Standard library only: the API
function imports it.
"""

from __future__ import annotations

import re

_ENTITY = re.compile(r"&(amp|lt|gt);")
_ENTITY_CHARS = {"amp": "&", "lt": "<", "gt": ">"}
_MARKUP = re.compile(r"<([^<>]*)>")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_BROADCASTS = ("here", "channel", "everyone")
_TOKENS = re.compile(r"<([^<>]*)>|(&(?:amp|lt|gt);)|([&<>])|([^&<>]+)")
"""Slack's text in pieces: markup, an entity, a stray control character, a run of plain text."""
_STRAY_AMP = re.compile(r"&(?!(?:amp|lt|gt);)")
DEFAULT_MAX_RAW_CHARS = 1000
"""An echo's own length cap, markup included: long link targets must not push a block past Slack's
3,000-character limit however short their label is."""


def unescape(text: str) -> str:
    """`&amp;` `&lt;` `&gt;` back to `&` `<` `>`, in one pass: a typed `&lt;` (sent as `&amp;lt;`)
    comes out as `&lt;`, as the person typed it."""
    if "&" not in text:
        return text
    return _ENTITY.sub(lambda match: _ENTITY_CHARS[match.group(1)], text)


def escape(text: str) -> str:
    """Slack's mrkdwn escaping, for text that did not come from Slack: only &, < and > are special."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_plain(text: str) -> str:
    """The text as a person reads it in Slack: markup shown as its label (`<@U1|ann>` → `@ann`,
    `<https://x|docs>` → `docs`, `<!here>` → `@here`), then unescaped once. For fallback text
    (escape it again there), logs, the acknowledgement and the trigger-word check."""
    if "<" in text:
        text = _MARKUP.sub(lambda match: _plain(match.group(1)), text)
    return unescape(text)


def to_mrkdwn(text: str, limit: int, max_raw: int = DEFAULT_MAX_RAW_CHARS) -> str:
    """Slack's `text` echoed inside our own mrkdwn: not escaped again (it already is), user and
    channel mentions and links kept as markup so Slack shows them as the person saw them, broadcast
    and group mentions made plain (`@here`) so an echo never notifies anyone, whitespace collapsed,
    and cut to `limit` visible characters (an entity or a markup token is never split; `…` marks the
    cut). Anything Slack would not send (a stray `&`, `<` or `>`) is escaped.
    """
    pieces: list[tuple[str, int]] = []  # (mrkdwn, visible length)
    for markup, entity, stray, run in (m.groups() for m in _TOKENS.finditer(" ".join(text.split()))):
        if markup is not None:
            pieces.append((_mrkdwn(markup), len(unescape(_plain(markup)))))
        elif entity is not None:
            pieces.append((entity, 1))
        elif stray is not None:
            pieces.append((escape(stray), 1))
        else:
            pieces.append((run, len(run)))
    if sum(visible for _, visible in pieces) <= limit and sum(len(raw) for raw, _ in pieces) <= max_raw:
        return "".join(raw for raw, _ in pieces)
    return _cut(pieces, limit - 1, max_raw - 1).rstrip() + "…"


def cut_raw(text: str, limit: int) -> str:
    """Slack's text as it came, cut to at most `limit` characters without splitting an entity or a
    markup token (so it reads back as the person typed its beginning); no `…` is added."""
    if len(text) <= limit:
        return text
    pieces = [(match.group(0), len(match.group(0))) for match in _TOKENS.finditer(text)]
    return _cut(pieces, limit, limit)


def _cut(pieces: list[tuple[str, int]], visible_budget: int, raw_budget: int) -> str:
    """The longest prefix within both budgets; only plain-text runs are cut inside."""
    out: list[str] = []
    for raw, visible in pieces:
        if visible <= visible_budget and len(raw) <= raw_budget:
            out.append(raw)
            visible_budget -= visible
            raw_budget -= len(raw)
            continue
        if raw[:1] not in ("<", "&"):  # a plain run: as many characters as fit
            out.append(raw[: min(visible_budget, raw_budget)])
        break
    return "".join(out)


def _plain(inner: str) -> str:
    """One markup token's readable form (still escaped: `to_plain` unescapes once, at the end)."""
    target, _, label = inner.partition("|")
    if target.startswith("@"):
        return f"@{label or target[1:]}"
    if target.startswith("#"):
        return f"#{label or target[1:]}"
    if target.startswith("!"):
        return _special_plain(target[1:], label)
    if _SCHEME.match(target):
        return label or target
    return f"<{inner}>"  # not markup Slack writes: left as it came


def _special_plain(command: str, label: str) -> str:
    name = command.split("^", 1)[0]
    if name in _BROADCASTS:
        return f"@{name}"
    if name == "subteam":
        handle = label or command.partition("^")[2]
        return handle if handle.startswith("@") else f"@{handle}"
    if label:
        return label  # <!date^…|fallback> and any other labelled command
    return f"@{name}"


def _mrkdwn(inner: str) -> str:
    """One markup token as it may appear in our messages."""
    target = inner.partition("|")[0]
    if target.startswith(("@", "#")) or (_SCHEME.match(target) and not target.startswith("!")):
        return f"<{_STRAY_AMP.sub('&amp;', inner)}>"
    if target.startswith("!"):
        return _STRAY_AMP.sub("&amp;", _plain(inner))  # broadcasts, groups, dates: plain words
    return escape(f"<{inner}>")
