"""The feedback side of rendering: what the buttons carry (within Slack's 2,000-character value),
the "which team was right?" menu (Slack's option, block_id and 100-option limits), its confirmation,
and `/whoknows teams` (50 blocks, 3,000 characters a section)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from chalicelib.jobs import UNKNOWN_TEAM
from chalicelib.model.teams import Team
from chalicelib.slack.markup import unescape
from chalicelib.slack.render import (
    BLOCK_ID_LIMIT,
    BUTTON_VALUE_LIMIT,
    FEEDBACK_CORRECT,
    MAX_QUESTION_IN_BUTTON,
    RankedTeam,
    feedback_value,
    render_answer,
    render_correction_menu,
    render_correction_thanks,
    render_teams,
)

PAYMENTS = Team("PAYMENTS", "Payments", "#payments-help", "S0PAYMENTS1", "Billing, invoices and refunds.")
DATA = Team("DATA", "Data", "#data-help", None, "The warehouse and the nightly exports.")
SEARCH = Team("SEARCH", "Search", "C0SEARCH01", None, None)


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _buttons(message: Any) -> list[dict[str, Any]]:
    return [
        element for block in message.blocks if block["type"] == "actions" for element in block["elements"]
    ]


# --- the buttons -------------------------------------------------------------------------------


def test_the_buttons_carry_the_question_id_team_model_version_and_question_as_slack_sent_it() -> None:
    question = "who owns <@U0CAROL|carol>'s &lt;refund&gt; job?"
    message = render_answer(
        question, [RankedTeam("PAYMENTS", 0.9, "Payments")], 0.5, question_id="slash:t.1", model_version="v7"
    )

    right, wrong = _buttons(message)

    assert right["value"] == wrong["value"]
    assert json.loads(right["value"]) == {"q": "slash:t.1", "team": "PAYMENTS", "v": "v7", "text": question}


@pytest.mark.parametrize(
    "question",
    [
        "why " * 1000,
        "\n" * 1000,  # each escaped as \n: two characters of JSON
        '"' * 1000,
        "\x01" * 1000,  # each escaped as \u0001: six
        "😀" * 1000,  # two UTF-16 units each
        "&amp;" * 400,
        "<@U0CAROL|carol> " * 100,
    ],
    ids=["long", "newlines", "quotes", "control", "emoji", "entities", "mentions"],
)
def test_a_button_value_always_fits_slacks_limit_and_keeps_what_it_can(question: str) -> None:
    value = feedback_value("slash:" + "t" * 150, "PAYMENTS", "2024-06-01T12-00-00", question)

    assert _utf16_length(value) <= BUTTON_VALUE_LIMIT
    text = json.loads(value)["text"]
    assert question.startswith(text) and len(text) <= MAX_QUESTION_IN_BUTTON
    assert len(text) >= min(len(question), 250)  # cut, not dropped
    assert "&" not in re.sub("&(amp|lt|gt);", "", text)  # never half an entity
    assert "<" not in re.sub("<@U0CAROL[|]carol>", "", text)  # never half a mention
    render_answer(question, [RankedTeam("P", 0.9, "P")], 0.5, "slash:1", "v1")  # slack_sdk validates


def test_without_a_version_the_value_has_no_v() -> None:
    assert json.loads(feedback_value("slash:1", "DATA", None, "q")) == {
        "q": "slash:1",
        "team": "DATA",
        "text": "q",
    }


# --- the menu ----------------------------------------------------------------------------------


def _menu(message: Any) -> dict[str, Any]:
    [section] = [block for block in message.blocks if block.get("accessory")]
    return section


def test_wrong_team_asks_which_was_right_with_the_other_teams_by_name_and_i_dont_know() -> None:
    menu = render_correction_menu("slash:t.1", PAYMENTS, "v7", [SEARCH, PAYMENTS, DATA])

    assert menu is not None and menu.left_out == 0
    message = menu.message
    assert message.text == "Thanks — noted that Payments was not the right team. Which team was right?"
    assert (message.response_type, message.replace_original) == ("ephemeral", False)  # the answer stays
    section = _menu(message)
    select = section["accessory"]
    assert (select["type"], select["action_id"]) == ("static_select", FEEDBACK_CORRECT)
    assert [(o["text"]["text"], o["value"]) for o in select["options"]] == [
        ("Data", "DATA"),
        ("Search", "SEARCH"),
        ("I don't know", UNKNOWN_TEAM),
    ]
    assert json.loads(section["block_id"]) == {"q": "slash:t.1", "team": "PAYMENTS", "v": "v7"}


def test_two_teams_with_one_name_are_told_apart_by_label() -> None:
    twin = Team("DATA_ENG", "Data", None, None, None)

    menu = render_correction_menu("slash:t.1", PAYMENTS, "v7", [DATA, twin])

    assert menu is not None
    texts = [o["text"]["text"] for o in _menu(menu.message)["accessory"]["options"]]
    assert texts == ["Data (DATA)", "Data (DATA_ENG)", "I don't know"]


def test_more_teams_than_slack_allows_list_the_first_99_by_name_and_say_so() -> None:
    teams = [Team(f"T{n:03d}", f"Team {n:03d}", None, None, None) for n in range(150)]

    menu = render_correction_menu("slash:t.1", teams[0], "v7", teams)

    assert menu is not None and menu.left_out == 149 - 99
    options = _menu(menu.message)["accessory"]["options"]
    assert len(options) == 100 and options[-1]["value"] == UNKNOWN_TEAM
    assert options[0]["text"]["text"] == "Team 001" and options[98]["text"]["text"] == "Team 099"
    assert "Only the first 99 teams by name fit" in json.dumps(menu.message.blocks)


def test_long_names_and_labels_fit_slacks_option_limits() -> None:
    long_name = Team("LONG", "N" * 80, None, None, None)
    long_label = Team("L" * 151, "Too long a label to be an option value", None, None, None)

    menu = render_correction_menu("slash:t.1", PAYMENTS, "v7", [long_name, long_label])

    assert menu is not None
    options = _menu(menu.message)["accessory"]["options"]
    assert [o["value"] for o in options] == ["LONG", UNKNOWN_TEAM]
    assert len(options[0]["text"]["text"]) == 75


def test_the_block_id_drops_the_version_then_gives_up_beyond_255_characters() -> None:
    long_version = "v" * 240
    without_version = render_correction_menu("slash:t.1", PAYMENTS, long_version, [DATA])
    assert without_version is not None
    block_id = _menu(without_version.message)["block_id"]
    assert len(block_id) <= BLOCK_ID_LIMIT and "v" not in json.loads(block_id)

    assert render_correction_menu("slash:" + "t" * 250, PAYMENTS, "v7", [DATA]) is None


def test_a_correction_is_confirmed_in_place_of_the_menu() -> None:
    picked = render_correction_thanks("Data", "Payments")
    unknown = render_correction_thanks(None, "R&D")

    assert picked.text == "Thanks — noted that Data was the right team."
    assert unknown.text == "Thanks — noted that R&amp;D was not the right team."
    assert picked.replace_original is True and picked.response_type == "ephemeral"


# --- /whoknows teams -------------------------------------------------------------------------------


def test_the_teams_are_listed_by_name_with_channel_group_and_description() -> None:
    message = render_teams([SEARCH, PAYMENTS, DATA], "v7")

    blocks = message.blocks
    assert blocks[0]["text"]["text"] == "*The 3 teams I know* (model v7):"
    assert [block["text"]["text"] for block in blocks[1:]] == [
        "*Data* — ask in #data-help\nThe warehouse and the nightly exports.",
        "*Payments* — ask in #payments-help or <!subteam^S0PAYMENTS1>\nBilling, invoices and refunds.",
        "*Search* — ask in <#C0SEARCH01>",
    ]
    assert message.text == "The teams I know: Data, Payments, Search"
    assert message.response_type == "ephemeral"


def test_directory_text_is_escaped() -> None:
    team = Team("RND", "R&D <core>", None, None, "Uses <!channel> & friends")

    blocks = render_teams([team], "v1").blocks
    text = json.dumps(blocks)

    assert blocks[0]["text"]["text"] == "*The 1 team I know* (model v1):"

    assert "R&amp;D &lt;core&gt;" in text and "&lt;!channel&gt; &amp; friends" in text
    assert "<!channel>" not in text


@pytest.mark.parametrize("count", [48, 49, 300, 2000])
def test_many_teams_stay_within_slacks_limits_and_what_is_left_out_is_counted(count: int) -> None:
    teams = [
        Team(f"T{n:04d}", f"Team {n:04d}", f"#team-{n:04d}", None, "Does things. " * 40) for n in range(count)
    ]

    message = render_teams(teams, "v1")

    blocks = message.blocks
    assert len(blocks) <= 50
    assert all(len(block["text"]["text"]) <= 3000 for block in blocks if block["type"] == "section")
    listed = sum(
        text.count("*Team ") for text in (b["text"]["text"] for b in blocks if b["type"] == "section")
    )
    if listed < count:
        note = blocks[-1]["elements"][0]["text"]
        assert note.startswith(f"…and {count - listed} more teams not shown")
    else:
        assert blocks[-1]["type"] == "section"
    assert listed >= min(count, 30)
    assert len(message.text) <= 3000 and unescape(message.text).startswith("The teams I know: Team 0000")
