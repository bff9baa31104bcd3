"""Rendering: fallback text always, the honest low-confidence branch, escaping, Slack's limits."""

from __future__ import annotations

import json
import re
from typing import Any, NamedTuple

import pytest

from chalicelib.slack.render import (
    MAX_ECHO_CHARS,
    RankedTeam,
    SlackMessage,
    escape,
    render_ack,
    render_answer,
    render_error,
    render_feedback_thanks,
    render_unknown_words,
    render_usage,
)

PAYMENTS = RankedTeam("PAYMENTS", 0.87, "Payments", "#payments-help", "S0PAYMENTS1")
SEARCH = RankedTeam("SEARCH", 0.08, "Search", "C0SEARCH01")
PLATFORM = RankedTeam("PLATFORM", 0.03, "Platform")
DATA = RankedTeam("DATA", 0.02, "Data")


def all_text(message: SlackMessage) -> str:
    return json.dumps(message.blocks, ensure_ascii=False)


def buttons(message: SlackMessage) -> list[dict[str, Any]]:
    return [
        element for block in message.blocks if block["type"] == "actions" for element in block["elements"]
    ]


def test_confident_answer_is_the_top_team_its_contact_and_why_then_the_next_two() -> None:
    message = render_answer(
        "Refund stuck in pending?",
        [PAYMENTS, SEARCH, PLATFORM, DATA],
        0.5,
        "q-42",
        reasons=["Refund", "stuck in pending"],
    )
    assert message.text == (
        "Payments can most likely help with “Refund stuck in pending?” (87%): "
        "ask in #payments-help or <!subteam^S0PAYMENTS1>"
    )
    assert message.response_type == "ephemeral"
    assert message.blocks[0]["text"]["text"].splitlines() == [
        "*Payments* can most likely help with “Refund stuck in pending?” (87%).",
        "Ask in #payments-help or <!subteam^S0PAYMENTS1>",
        "Because of: _Refund_, _stuck in pending_",
    ]
    context = [element["text"] for element in message.blocks[1]["elements"]]
    assert context[0] == "Also possible: Search 8% (<#C0SEARCH01>), Platform 3%"
    assert context[1] == "Confident means 50% or more, from past Jira tickets."
    assert "Data" not in all_text(message), "only the top three are shown"
    assert "low confidence" not in all_text(message)
    assert [block["type"] for block in message.blocks] == ["section", "context", "actions"]


def test_reasons_are_escaped_and_shortened() -> None:
    long = "word " * 40
    message = render_answer("q", [PAYMENTS], 0.5, reasons=["R&D <nightly>", long, "  "])
    because = message.blocks[0]["text"]["text"].splitlines()[-1]
    assert because.startswith("Because of: _R&amp;D &lt;nightly&gt;_, _word word")
    assert because.endswith("…_") and len(because) < 110  # the long reason is cut at 60 characters


def test_no_reasons_no_because_line() -> None:
    message = render_answer("q", [PLATFORM], 0.5)
    assert "Because of" not in all_text(message)


def test_a_question_of_unknown_words_says_so_without_a_ranking() -> None:
    message = render_unknown_words("🔥🔥 &lt;zzqx&gt;")
    assert message.text.startswith(
        "I don't know any of these words from our tickets — say what it is about: “🔥🔥 &lt;zzqx&gt;”"
    )
    assert not buttons(message) and len(message.blocks) == 1


def test_feedback_buttons_carry_question_and_top_team() -> None:
    right, wrong = buttons(render_answer("q", [PAYMENTS, SEARCH], 0.5, "q-42"))
    assert (right["action_id"], right["text"]["text"]) == ("feedback_right", "That helped")
    assert (wrong["action_id"], wrong["text"]["text"]) == ("feedback_wrong", "Wrong team")
    assert json.loads(right["value"]) == json.loads(wrong["value"])
    assert json.loads(right["value"]) == {"q": "q-42", "team": "PAYMENTS", "text": "q"}


def test_question_id_defaults_to_a_stable_hash() -> None:
    first = json.loads(buttons(render_answer("same question", [PAYMENTS], 0.5))[0]["value"])["q"]
    again = json.loads(buttons(render_answer("same question", [PAYMENTS], 0.5))[0]["value"])["q"]
    other = json.loads(buttons(render_answer("other question", [PAYMENTS], 0.5))[0]["value"])["q"]
    assert first == again != other


def test_below_threshold_is_honest_and_still_lists_guesses() -> None:
    message = render_answer("Who knows about the office plants?", [SEARCH, PLATFORM], 0.5)
    assert message.text.startswith("I'm not sure who can help with “Who knows about the office plants?”")
    assert "Search 8%, Platform 3%" in message.text
    body = all_text(message)
    headline = message.blocks[0]["text"]["text"]
    assert "I'm not sure" in headline and "My best guess, *low confidence*: *Search* (8%)" in headline
    assert "Also possible: Platform 3%" in body
    assert buttons(message), "feedback is most useful exactly when unsure"


def test_threshold_is_inclusive() -> None:
    assert not render_answer("q", [PAYMENTS], 0.87).text.startswith("I'm not sure")
    assert render_answer("q", [PAYMENTS], 0.871).text.startswith("I'm not sure")


def test_no_teams_at_all() -> None:
    message = render_answer("anything?", [], 0.5)
    assert message.text.startswith("I couldn't find a team for “anything?”")
    assert not buttons(message)


def test_escape_follows_slack_rules() -> None:
    assert escape("a & b < c > d *e*") == "a &amp; b &lt; c &gt; d *e*"


def test_slack_text_is_escaped_exactly_once() -> None:
    """The question arrives escaped by Slack; echoed, it is shown as typed (one escape on the wire)."""
    question = "who knows R&amp;D &lt;nightly&gt; and the typed &amp;lt;br&amp;gt;?"
    wire = "R&amp;D &lt;nightly&gt; and the typed &amp;lt;br&amp;gt;"
    for message in (render_answer(question, [PAYMENTS], 0.5), render_answer(question, [SEARCH], 0.5)):
        assert wire in message.text
        assert wire in message.blocks[0]["text"]["text"]
        assert "&amp;amp;" not in message.text + all_text(message)
    ack = render_ack(question)
    assert wire in ack.text and wire in all_text(ack)


def test_mentions_render_in_blocks_and_read_plainly_in_fallback_text() -> None:
    message = render_answer(
        "who besides <@U0CAROL|carol> in <#C0PLATFORM|plat> owns <https://x.example|it>?", [PAYMENTS], 0.5
    )
    assert "who besides @carol in #plat owns it?" in message.text
    assert (
        "<@U0CAROL|carol> in <#C0PLATFORM|plat> owns <https://x.example|it>"
        in message.blocks[0]["text"]["text"]
    )


def test_broadcast_mentions_in_the_question_never_notify_anyone() -> None:
    question = "<!channel> <!here|here> <!everyone> <!subteam^S0OPS|@ops> who runs the VPN?"
    messages = [
        render_answer(question, [PAYMENTS], 0.5),
        render_answer(question, [SEARCH], 0.5),
        render_answer(question, [], 0.5),
        render_ack(question),
    ]
    for message in messages:
        shown = [block for block in message.blocks if block["type"] != "actions"]  # values are not shown
        echoed = message.text + json.dumps(shown, ensure_ascii=False)
        assert "<!channel>" not in echoed and "<!here" not in echoed and "<!everyone>" not in echoed
        assert "S0OPS" not in echoed
        assert "@channel @here @everyone @ops who runs the VPN?" in echoed


def test_text_that_did_not_come_from_slack_is_escaped() -> None:
    hostile = "<!channel> & <https://evil.example|click> >"
    escaped = "&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt; &gt;"
    assert escaped in render_error(hostile).text
    team = RankedTeam("X", 0.9, hostile)
    assert escaped in render_answer("q", [team], 0.5).text
    assert escaped in all_text(render_answer("q", [team], 0.5))
    assert "<!channel>" not in render_feedback_thanks("right", hostile).text


def test_display_names_are_escaped() -> None:
    team = RankedTeam("RND", 0.9, "R&D <core>")
    assert "R&amp;D &lt;core&gt;" in render_answer("q", [team], 0.5).text


def test_long_question_is_truncated_in_echoes_and_blocks_stay_valid() -> None:
    question = "why " * 1000
    ack = render_ack(question)
    assert "…" in ack.text
    assert len(ack.text) < MAX_ECHO_CHARS + 50
    answer = render_answer(question, [PAYMENTS, SEARCH, PLATFORM], 0.5)
    assert all(len(block.get("text", {}).get("text", "")) <= 3000 for block in answer.blocks)


@pytest.mark.parametrize("question", ["&" * 400, "&amp;" * 400, "&lt;" * 400, "<@U0CAROL|carol> " * 100])
def test_truncating_never_splits_an_entity_or_a_mention(question: str) -> None:
    ack = render_ack(question)
    for echoed in (ack.text, ack.blocks[0]["elements"][0]["text"]):
        assert "&" not in re.sub("&(amp|lt|gt);", "", echoed)
        assert "<" not in re.sub("<@U0CAROL[|]carol>", "", echoed)


def test_usage_has_syntax_and_examples() -> None:
    message = render_usage()
    assert message.response_type == "ephemeral"
    assert "&lt;your question&gt;" in message.text and "<your" not in message.text
    assert all_text(message).count("`/whoknows ") >= 3


def test_ack_and_error() -> None:
    assert render_ack("Refunds?").text == "Looking for who knows about “Refunds?”…"
    error = render_error("the model is being updated, please try again in a minute")
    assert (
        error.text
        == "Sorry, I couldn't answer that: the model is being updated, please try again in a minute"
    )


def test_payload_is_what_slack_expects() -> None:
    payload = render_ack("q").payload()
    assert set(payload) == {"text", "blocks", "response_type", "replace_original"}
    json.dumps(payload)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"probability": 1.2},
        {"probability": -0.1},
        {"probability": float("nan")},
        {"channel": "payments-help"},
        {"channel": "#Payments Help"},
        {"user_group": "<!channel>"},
    ],
)
def test_ranked_team_refuses_values_that_would_render_wrongly(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        RankedTeam(**({"label": "X", "probability": 0.5, "display_name": "X"} | kwargs))


@pytest.mark.parametrize(
    ("probability", "shown"), [(0.0, "0%"), (0.004, "0%"), (0.5, "50%"), (0.999, "100%")]
)
def test_confidence_is_a_percentage(probability: float, shown: str) -> None:
    assert f"*X* can most likely help with “q” ({shown})" in all_text(
        render_answer("q", [RankedTeam("X", probability, "X")], 0.0)
    )


# --- evidence: the top team's past tickets like the question ----------------------------------


class Past(NamedTuple):
    key: str
    summary: str
    team: str
    year: int | None
    similarity: float
    url: str | None


def test_similar_tickets_are_short_linked_lines_in_a_context_block() -> None:
    similar = [
        Past("PAY-1", "Refund stuck in pending after checkout & VAT <EU>", "PAYMENTS", 2023, 0.8, None),
        Past("PAY-9", "x" * 300, "PAYMENTS", None, 0.5, "https://jira.example.com/browse/PAY-9"),
    ]
    message = render_answer(
        "q", [PAYMENTS, SEARCH], 0.5, similar=similar, jira_base_url="https://acme.atlassian.net"
    )
    evidence = message.blocks[1]
    assert evidence["type"] == "context"
    lines = evidence["elements"][0]["text"].splitlines()
    assert lines[0] == "Similar past tickets:"
    assert lines[1] == (
        "• <https://acme.atlassian.net/browse/PAY-1|PAY-1> Refund stuck in pending after checkout "
        "&amp; VAT &lt;EU&gt; (2023)"
    )
    assert lines[2].startswith("• <https://jira.example.com/browse/PAY-9|PAY-9> xxx") and lines[2].endswith(
        "…"
    )
    assert len(lines[2]) < 150  # one phone line


def test_no_similar_ticket_is_said_and_no_index_shows_nothing() -> None:
    none_similar = render_answer("q", [PAYMENTS], 0.5, similar=[])
    assert (
        none_similar.blocks[1]["elements"][0]["text"]
        == "No past ticket of Payments is much like this question."
    )
    assert "past ticket" not in all_text(render_answer("q", [PAYMENTS], 0.5))


def test_an_unlinkable_ticket_is_shown_by_key() -> None:
    similar = [Past("PAY-2", "Double charge", "PAYMENTS", 2022, 0.6, "javascript:alert(1)")]
    line = render_answer("q", [PAYMENTS], 0.5, similar=similar).blocks[1]["elements"][0]["text"]
    assert "• *PAY-2* Double charge (2022)" in line and "javascript" not in line


def test_the_longest_answer_stays_within_slacks_limits() -> None:
    """Every field at its longest: the message still validates and fits a phone-sized block list."""
    longest = RankedTeam("T" * 200, 0.99, "N" * 200, "#" + "c" * 80, "S" + "G" * 20)
    similar = [Past("K" * 100, "s" * 300, "T", 2024, 0.9, "https://j.example/" + "p" * 500) for _ in range(3)]
    message = render_answer(
        "w " * 3000, [longest, longest, longest], 0.5, "q" * 100, reasons=["r" * 500] * 3, similar=similar
    )
    assert len(message.blocks) <= 5
    for block in message.blocks:
        for element in [*block.get("elements", []), block.get("text") or {}]:
            assert len(element.get("text", "") if isinstance(element.get("text"), str) else "") <= 3000
    assert len(message.text) <= 4000


def test_an_answer_in_a_channel_thread_names_no_user_group() -> None:
    threaded = render_answer("q", [PAYMENTS, SEARCH], 0.5, mention_groups=False)
    assert "subteam" not in all_text(threaded) + threaded.text
    assert "Ask in #payments-help" in all_text(threaded)
    assert "<!subteam^S0PAYMENTS1>" in all_text(render_answer("q", [PAYMENTS], 0.5))
