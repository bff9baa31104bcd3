"""Slack's text read back: unescaped once, shown as a person reads it, echoed without pinging anyone."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.slack.markup import escape, to_mrkdwn, to_plain, unescape


def test_unescape_is_one_pass() -> None:
    assert unescape("R&amp;D &lt;nightly&gt;") == "R&D <nightly>"
    assert unescape("shows &amp;lt;br&amp;gt;") == "shows &lt;br&gt;"  # a typed "&lt;" stays "&lt;"
    assert unescape("&quot; &#39; & plain") == "&quot; &#39; & plain"  # Slack escapes only & < >


@pytest.mark.parametrize(
    ("slack", "plain"),
    [
        ("who besides <@U0CAROL003|carol> knows?", "who besides @carol knows?"),
        ("ask <@U0CAROL003>", "ask @U0CAROL003"),
        ("in <#C0PLATFORM|platform-eng>?", "in #platform-eng?"),
        ("in <#C0PLATFORM>", "in #C0PLATFORM"),
        ("see <https://wiki.example.com/a?b=1&amp;c=2|the R&amp;D runbook>", "see the R&D runbook"),
        ("see <https://grafana.example.com/d/x>", "see https://grafana.example.com/d/x"),
        ("mail <mailto:ann@example.com|ann@example.com>", "mail ann@example.com"),
        ("<!here> <!channel> <!everyone> <!here|here>", "@here @channel @everyone @here"),
        ("<!subteam^S0PAY|@payments> and <!subteam^S0OPS|ops>", "@payments and @ops"),
        ("since <!date^1392734382^{date_short}|Feb 18, 2014>", "since Feb 18, 2014"),
        ("R&amp;D &lt;nightly&gt; &amp;lt;br&amp;gt;", "R&D <nightly> &lt;br&gt;"),
        ("no markup at all", "no markup at all"),
    ],
)
def test_to_plain_reads_like_slack_shows_it(slack: str, plain: str) -> None:
    assert to_plain(slack) == plain


@pytest.mark.parametrize(
    ("slack", "echo"),
    [
        ("R&amp;D &lt;nightly&gt;", "R&amp;D &lt;nightly&gt;"),  # already escaped: not escaped again
        ("ask <@U0CAROL003|carol> in <#C0PLAT|plat>", "ask <@U0CAROL003|carol> in <#C0PLAT|plat>"),
        ("see <https://x.example/a|the runbook>", "see <https://x.example/a|the runbook>"),
        ("<!here> who knows?", "@here who knows?"),
        ("<!channel> <!everyone> <!subteam^S0PAY|@payments>", "@channel @everyone @payments"),
        ("on <!date^1392734382^{date}|Feb 18>", "on Feb 18"),
        ("  many\n\tspaces   here ", "many spaces here"),
        ("stray & and > from elsewhere", "stray &amp; and &gt; from elsewhere"),
    ],
)
def test_to_mrkdwn_keeps_mentions_and_links_but_never_broadcasts(slack: str, echo: str) -> None:
    assert to_mrkdwn(slack, 150) == echo


def test_to_mrkdwn_cuts_between_entities_and_markup_tokens() -> None:
    assert to_mrkdwn("&amp;" * 10, 5) == "&amp;" * 4 + "…"
    assert to_mrkdwn("ab <@U0CAROL003|carol> cd", 6) == "ab…"  # "@carol" would not fit whole
    assert to_mrkdwn("ab <@U0CAROL003|carol> cd", 10) == "ab <@U0CAROL003|carol>…"
    assert to_mrkdwn("abcdef", 6) == "abcdef"
    assert to_mrkdwn("abcdefg", 6) == "abcde…"


def test_to_mrkdwn_bounds_the_raw_length_of_long_link_targets() -> None:
    link = f"<https://x.example/{'a' * 2000}|doc>"
    echo = to_mrkdwn(f"see {link} {link}", 150, max_raw=1000)
    assert len(echo) <= 1000
    assert echo == "see…"


_TOKEN = st.sampled_from(
    [
        "<@U0CAROL003|carol>",
        "<@U0CAROL003>",
        "<#C0PLAT|plat>",
        "<https://x.example/a?b=1&amp;c=2|docs>",
        "<!here>",
        "<!channel>",
        "<!subteam^S1|@team>",
        "&amp;",
        "&lt;",
        "&gt;",
        "&amp;lt;",
        " ",
        "\n",
        "who",
        "R",
        "é",
        ":fire:",
    ]
)
slack_texts = st.lists(_TOKEN | st.text(alphabet="ab &<>|!@#", max_size=5).map(escape), max_size=40).map(
    "".join
)


@settings(max_examples=500, deadline=None)
@given(slack_texts, st.integers(min_value=1, max_value=60))
def test_an_echo_is_well_formed_bounded_and_never_pings(text: str, limit: int) -> None:
    echo = to_mrkdwn(text, limit)
    assert "<!" not in echo
    assert len(to_plain(echo)) <= limit
    without_markup = re.sub(r"<[@#][^<>]*>|<https://[^<>]*>", "", echo)
    assert "<" not in without_markup and ">" not in without_markup
    assert "&" not in re.sub(r"&(?:amp|lt|gt);", "", without_markup)


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=200))
def test_what_a_person_typed_round_trips(typed: str) -> None:
    """Slack escapes what was typed; reading it back gives it unchanged, and so does an uncut echo."""
    assert to_plain(escape(typed)) == typed
    assert unescape(to_mrkdwn(escape(typed), 10_000, 10_000)) == " ".join(typed.split())
