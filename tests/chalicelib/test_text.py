import re
import unicodedata
from collections import Counter
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.text import (
    MAX_INPUT_CHARS,
    MAX_TOKEN_CHARS,
    MAX_TOKENS,
    ascii_fold,
    camel_parts,
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


def test_identifiers_are_their_parts_then_themselves() -> None:
    assert normalize("FSNamesystem HiveServer2 getBlockLocations") == (
        "fs namesystem fsnamesystem hive server2 hiveserver2 get block locations getblocklocations"
    )
    assert normalize("hiveserver2 Hive HDFS") == "hiveserver2 hive hdfs"  # no case change inside


@pytest.mark.parametrize(
    ("asked", "topic"),
    [
        ("Who knows about HiveServer2 sessions?", "hive server2 hiveserver2 sessions"),
        ("hey team, does anyone know why the export fails", "why the export fails"),
        ("who should I ask about the refund API", "the refund api"),
        ("Can someone help me with Kerberos?", "kerberos"),
        ("who owns the VAT invoices?", "the vat invoices"),
        ("HDFS datanode keeps restarting", "hdfs datanode keeps restarting"),
        ("the question about who knows", "the question about who knows"),  # only at the start
    ],
)
def test_a_question_frame_at_the_start_is_not_part_of_the_topic(asked: str, topic: str) -> None:
    assert normalize(asked) == topic


@pytest.mark.parametrize("asked", ["who knows?", "Help", "hey all, quick question: who knows"])
def test_a_frame_with_no_topic_leaves_nothing(asked: str) -> None:
    assert normalize(asked) == ""


def test_ticket_text_counts_the_identifiers_it_splits() -> None:
    identifiers: Counter[str] = Counter()
    ticket_text("HiveServer2 drops sessions", "FSNamesystem and HiveServer2 again", identifiers)
    assert identifiers == Counter({"HiveServer2": 2, "FSNamesystem": 1})
    assert camel_parts("FSNamesystem") == ["fs", "namesystem"]


def test_slack_markup_keeps_only_readable_words() -> None:
    text = "<@U024BE7LH> who owns <https://example.com/x|the runbook> in <#C0123ABCD|ops-help>? <!here>"
    assert normalize(text) == "the runbook in ops help"


def test_slack_entities_are_the_characters_they_stand_for_not_words() -> None:
    assert normalize("who knows R&amp;D &lt;nightly&gt; exports?") == "r d nightly exports"
    assert normalize("it shows &amp;lt;br&amp;gt; literally") == "it shows lt br gt literally"  # as typed


def test_slack_groups_and_dates_keep_their_label() -> None:
    text = "ask <!subteam^S0PAY|@payments> about <!date^1392734382^{date_short}|Feb 18, 2014> <!here>"
    assert normalize(text) == "ask payments about feb 18 2014"


def test_emoji_codes_are_not_words_but_colons_inside_words_stay() -> None:
    assert normalize("who knows :fire: the :white_check_mark: deploy :+1:?") == "the deploy"
    assert normalize(":wave::skin-tone-2: who?") == "who"
    assert normalize("at 10:30:45 ERROR:root:failed") == "at 10 30 45 error root failed"


def test_training_and_serving_read_slack_markup_alike() -> None:
    """A ticket pasted from Slack and the same question asked in Slack give the same tokens."""
    asked = "<@U0BOT> who knows R&amp;D &lt;nightly&gt; :fire: <https://x.example|runbook>?"
    assert ticket_text(asked, None) == normalize(asked) == "r d nightly runbook"


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
    tokens: list[str] = []
    for run in re.findall(r"[A-Za-z0-9]+", text):
        parts = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", run).lower().split()
        tokens += [*parts, run.lower()] if len(parts) > 1 else parts
    words = " ".join(t for t in tokens[:MAX_TOKENS] if len(t) <= MAX_TOKEN_CHARS)
    frame = _REFERENCE_FRAME.match(words + " ")
    return words[frame.end() :] if frame else words


_REFERENCE_FRAME = re.compile(
    "(?:(?:{}) )+".format(
        "|".join(
            (
                r"(?:hey|hi|hello|yo)(?: (?:all|team|folks|everyone|there))?",
                r"(?:please|pls|quick question|question)",
                r"(?:(?:does|do) )?(?:anyone|anybody|someone|somebody) (?:here )?"
                r"(?:knows?|familiar with|understands?|owns?|works? on)"
                r"(?: (?:anything|something|much))?(?: about| of| on| with)?",
                r"(?:can|could) (?:anyone|anybody|someone|somebody|you) help(?: me| us)?"
                r"(?: with| on| about)?",
                r"who (?:knows|(?:can|could) help(?: me| us)?|owns|maintains|(?:is|s) responsible for"
                r"|(?:is|s) (?:the|an) expert|understands|works on|handles|looks after)"
                r"(?: (?:anything|something|much|more))?(?: about| with| on| for| of| in)?",
                r"who (?:do|should|can|could) (?:i|we) (?:ask|talk to|contact|ping)"
                r"(?: about| for| on| regarding)?",
                r"(?:help(?: me)? with|help|questions? (?:about|on))",
            )
        )
    )
)

_FRAGMENTS = [
    "who knows about ",
    "hey team does anyone know ",
    "HiveServer2",
    "getBlockLocations",
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
