import re
import unicodedata
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.text import (
    MAX_INPUT_CHARS,
    MAX_TOKEN_CHARS,
    MAX_TOKENS,
    ascii_fold,
    normalize,
    strip_markup,
    ticket_text,
)


def test_words_are_lowercase_ascii_joined_by_single_spaces() -> None:
    assert (
        normalize("  Why   does the\tNightly\r\nexport TIME out?? ") == "why does the nightly export time out"
    )


def test_accents_are_folded_and_emoji_dropped() -> None:
    assert normalize("Café crème 😀 naïve") == "cafe creme naive"
    assert ascii_fold("Ærøskøbing straße") == "rskbing strae"  # letters with no ASCII base are dropped


def test_identifiers_split_at_case_changes() -> None:
    assert (
        normalize("FSNamesystem HiveServer2 getBlockLocations")
        == "fs namesystem hive server2 get block locations"
    )


def test_slack_markup_keeps_only_readable_words() -> None:
    text = "<@U024BE7LH> who owns <https://example.com/x|the runbook> in <#C0123ABCD|ops-help>? <!here>"
    assert normalize(text) == "who owns the runbook in ops help"


def test_slack_entities_are_the_characters_they_stand_for_not_words() -> None:
    assert normalize("who knows R&amp;D &lt;nightly&gt; exports?") == "who knows r d nightly exports"
    assert normalize("it shows &amp;lt;br&amp;gt; literally") == "it shows lt br gt literally"  # as typed


def test_slack_groups_and_dates_keep_their_label() -> None:
    text = "ask <!subteam^S0PAY|@payments> about <!date^1392734382^{date_short}|Feb 18, 2014> <!here>"
    assert normalize(text) == "ask payments about feb 18 2014"


def test_emoji_codes_are_not_words_but_colons_inside_words_stay() -> None:
    assert normalize("who knows :fire: the :white_check_mark: deploy :+1:?") == "who knows the deploy"
    assert normalize(":wave::skin-tone-2: who?") == "who"
    assert normalize("at 10:30:45 ERROR:root:failed") == "at 10 30 45 error root failed"


def test_training_and_serving_read_slack_markup_alike() -> None:
    """A ticket pasted from Slack and the same question asked in Slack give the same tokens."""
    asked = "<@U0BOT> who knows R&amp;D &lt;nightly&gt; :fire: <https://x.example|runbook>?"
    assert ticket_text(asked, None) == normalize(asked) == "who knows r d nightly runbook"


def test_jira_markup_markers_go_but_code_content_stays() -> None:
    text = (
        "h1. Crash\n{code:java}\nat org.apache.Foo.bar(Foo.java:42)\n{code} see [the doc|https://x.example/a]"
    )
    assert normalize(text) == "crash at org apache foo bar foo java 42 see the doc"
    assert "http" not in strip_markup("plain https://example.com/path link")


def test_empty_and_none_give_empty_string() -> None:
    assert normalize("") == ""
    assert normalize(None) == ""
    assert normalize("🔥 ✨ 数据库") == ""


def test_huge_input_is_bounded() -> None:
    assert len(normalize("word " * 400_000).split()) <= MAX_TOKENS
    assert normalize("a" * 100_000) == ""  # one absurd token is not a word


def test_a_token_longer_than_the_cap_is_dropped_not_cut() -> None:
    kept, dropped = "k" * MAX_TOKEN_CHARS, "d" * (MAX_TOKEN_CHARS + 1)
    assert normalize(f"who {kept} {dropped} knows") == f"who {kept} knows"


def test_ticket_text_puts_summary_first() -> None:
    assert ticket_text("Login fails", None) == "login fails"
    assert ticket_text("Login fails", "after *SSO* change").startswith("login fails after sso")


# The reference normaliser: the same patterns, copied here rather than imported, so the test checks
# the module's shortcuts against an independent statement of what normalising means.
_REFERENCE_STEPS: tuple[tuple[str, Any], ...] = (
    (r"<!(?:subteam|date)\^[^>|]*\|([^>]*)>", lambda m: f" {m.group(1)} "),
    (r"<[@!][^>\s]*>", " "),
    (r"<#[A-Z0-9]+(?:\|([^>]*))?>", lambda m: f" {m.group(1) or ''} "),
    (r"<((?:https?|mailto):[^>|\s]*)(?:\|([^>]*))?>", lambda m: f" {m.group(2) or ''} "),
    (r"&(amp|lt|gt);", lambda m: {"amp": "&", "lt": "<", "gt": ">"}[m.group(1)]),
    (r"(?<!\w):[a-z0-9_+'-]+:(?!\w)", " "),
    (r"\{(?:code|noformat|quote|panel|color|html|sql|java|xml)(?::[^}]*)?\}", " "),
    (
        r"\[(?:([^|\]\n]*)\|)?\s*((?:https?|file|mailto):[^\]\s]*|~[^\]]*|\^[^\]]*)\s*\]",
        lambda m: f" {m.group(1) or ''} ",
    ),
    (r"(?m)^\s*(?:h[1-6]|bq)\.\s", " "),
    (r"\|\|", " "),
    (r"\b(?:https?|ftp)://\S+", " "),
)


def _normalize_without_shortcuts(text: str) -> str:
    """Every pattern always applied, in order (the shortcuts' reference)."""
    for pattern, replace in _REFERENCE_STEPS:
        flags = re.IGNORECASE if pattern.startswith(r"\{") else 0
        text = re.sub(pattern, replace, text, flags=flags)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    camel = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", text)
    tokens = re.findall(r"[a-z0-9]+", camel.lower())
    return " ".join(t for t in tokens[:MAX_TOKENS] if len(t) <= MAX_TOKEN_CHARS)


_FRAGMENTS = [
    "&amp;",
    "&lt;",
    "&gt;",
    "&amp;lt;",
    ":fire:",
    ":+1:",
    "10:30:45",
    "<!subteam^S1|@ops>",
    "<!date^1^{date}|Feb 18>",
    "<!here>",
    "<@U1|ann>",
    "<#C1|eng>",
    "<https://x.y|doc>",
]
markup_heavy = st.lists(
    st.sampled_from(list("aZb9 .|[]{}<>@!#^:/-_h1qéÅ\n\tHTTPShttps://x.y~code:java&;'+"))
    | st.sampled_from(_FRAGMENTS),
    max_size=60,
).map("".join)


long_tokens = st.text(alphabet=st.sampled_from(list("abXY19 _")), max_size=300)
"""Runs of word characters past MAX_TOKEN_CHARS, capitals anywhere or only first, many tokens."""


@settings(max_examples=2000, deadline=None)
@given(st.one_of(markup_heavy, long_tokens, st.text(max_size=200)))
def test_shortcuts_never_change_the_output(text: str) -> None:
    assert normalize(text) == _normalize_without_shortcuts(text[:MAX_INPUT_CHARS])
