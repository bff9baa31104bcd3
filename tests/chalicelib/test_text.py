import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib import text as text_module
from chalicelib.text import MAX_TOKEN_CHARS, MAX_TOKENS, ascii_fold, normalize, strip_markup, ticket_text


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


def _normalize_without_shortcuts(text: str) -> str:
    """The normaliser as first written: every pattern always applied (the shortcuts' reference)."""
    for pattern, replace in (
        (text_module._SLACK_MENTION, " "),
        (text_module._SLACK_CHANNEL, lambda m: f" {m.group(1) or ''} "),
        (text_module._SLACK_LINK, lambda m: f" {m.group(2) or ''} "),
        (text_module._JIRA_MACRO, " "),
        (text_module._JIRA_LINK, lambda m: f" {m.group(1) or ''} "),
        (text_module._JIRA_HEADING, " "),
        (text_module._JIRA_TABLE_HEADER, " "),
        (text_module._URL, " "),
    ):
        text = pattern.sub(replace, text)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    tokens = text_module._WORD.findall(text_module._CAMEL_BOUNDARY.sub(" ", text).lower())
    return " ".join(t for t in tokens[: text_module.MAX_TOKENS] if len(t) <= text_module.MAX_TOKEN_CHARS)


markup_heavy = st.text(
    alphabet=st.sampled_from(list("aZb9 .|[]{}<>@!#^:/-_h1qéÅ\n\tHTTPShttps://x.y~code:java")),
    max_size=120,
)


long_tokens = st.text(alphabet=st.sampled_from(list("abXY19 _")), max_size=300)
"""Runs of word characters past MAX_TOKEN_CHARS, capitals anywhere or only first, many tokens."""


@settings(max_examples=2000, deadline=None)
@given(st.one_of(markup_heavy, long_tokens, st.text(max_size=200)))
def test_shortcuts_never_change_the_output(text: str) -> None:
    assert normalize(text) == _normalize_without_shortcuts(text[: text_module.MAX_INPUT_CHARS])
