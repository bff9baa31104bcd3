from chalicelib.text import MAX_TOKENS, ascii_fold, normalize, strip_markup, ticket_text


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


def test_ticket_text_puts_summary_first() -> None:
    assert ticket_text("Login fails", None) == "login fails"
    assert ticket_text("Login fails", "after *SSO* change").startswith("login fails after sso")
