"""Feedback clicks: parsing Slack's interactivity payload, reading the buttons and the menu render.py
wrote, the one `feedback` log line each click leaves (without the click's response_url or the
question), and the worker job that carries them to be stored and confirmed."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest

from chalicelib import logs
from chalicelib.api.feedback import (
    MAX_FIELD_CHARS,
    Clicked,
    Feedback,
    UnreadableFeedback,
    confirmation_job,
    read_menu,
    read_value,
    record,
)
from chalicelib.jobs import UNKNOWN_TEAM, Job
from chalicelib.model.teams import Team
from chalicelib.slack.render import (
    FEEDBACK_CORRECT,
    FEEDBACK_RIGHT,
    FEEDBACK_WRONG,
    RankedTeam,
    render_answer,
    render_correction_menu,
)
from chalicelib.slack.requests import (
    BadRequest,
    BlockAction,
    BlockActions,
    IgnoredInteraction,
    parse_interaction,
)
from tests.support.interactions import (
    RESPONSE_URL,
    block_actions,
    click_body,
    interaction_body,
    menu_choice,
)


def _buttons(question_id: str = "slash:trig.9", label: str = "PAYMENTS") -> list[dict[str, Any]]:
    teams = [RankedTeam(label, 0.9, "Payments"), RankedTeam("SEARCH", 0.05, "Search")]
    message = render_answer("who owns refunds?", teams, 0.5, question_id=question_id, model_version="v7")
    [actions] = [block for block in message.blocks if block["type"] == "actions"]
    return actions["elements"]


def _menu_block_id(question_id: str = "slash:trig.9") -> str:
    teams = [Team("PAYMENTS", "Payments", None, None, None), Team("DATA", "Data", None, None, None)]
    menu = render_correction_menu(question_id, teams[0], "v7", teams)
    assert menu is not None
    [section] = [block for block in menu.message.blocks if block.get("accessory")]
    return section["block_id"]


# --- the payload -----------------------------------------------------------------------------


def test_a_real_shaped_click_is_parsed_with_its_response_url_hidden_and_without_its_token() -> None:
    interaction = parse_interaction(click_body())

    assert interaction == BlockActions(
        user_id="U0001",
        actions=(
            BlockAction(
                FEEDBACK_RIGHT, '{"q":"slash:trig.123","team":"PAYMENTS"}', "fb1", "1700000001.000200"
            ),
        ),
        team_id="T0001",
        channel_id="C0001",
        trigger_id="1234.5678.abcdef",
        response_url=RESPONSE_URL,
    )
    assert RESPONSE_URL not in repr(interaction)  # kept for the worker's job, never printed
    assert "deprecated-verification-token" not in repr(interaction)


@pytest.mark.parametrize("response_url", [None, ""])
def test_a_click_without_a_response_url_parses_with_none(response_url: str | None) -> None:
    interaction = parse_interaction(click_body(response_url=response_url))

    assert isinstance(interaction, BlockActions) and interaction.response_url is None


def test_team_falls_back_to_the_users_team_for_org_wide_installs() -> None:
    interaction = parse_interaction(click_body(team=None, channel=None))

    assert isinstance(interaction, BlockActions)
    assert (interaction.team_id, interaction.channel_id) == ("T0001", None)


@pytest.mark.parametrize("kind", ["view_submission", "shortcut", "message_action", "block_suggestion"])
def test_other_interaction_types_are_recognised_and_ignored(kind: str) -> None:
    assert parse_interaction(interaction_body({"type": kind})) == IgnoredInteraction(kind)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "no payload field"),
        (b"payload=", "no payload field"),
        (b"text=hello", "no payload field"),
        (b"\xff\xfe", "not valid UTF-8"),
        (b"payload=%FF", "not valid UTF-8 once percent-decoded"),
        (b"payload=a&payload=b", "more than once: payload"),
        (urlencode({"payload": "{not json"}).encode(), "not valid JSON"),
        (interaction_body([1, 2]), "must be a JSON object"),
        (interaction_body({"actions": []}), "has no type"),
        (interaction_body({"type": ""}), "has no type"),
        (interaction_body({"type": 7}), "has no type"),
        (interaction_body(block_actions(user=None)), "has no user object"),
        (interaction_body(block_actions(user={"name": "ada"})), "user is missing id"),
        (interaction_body(block_actions(actions=[])), "has no actions"),
        (interaction_body(block_actions(actions="click")), "has no actions"),
        (interaction_body(block_actions(actions=["click"])), "must be a JSON object"),
        (interaction_body(block_actions(actions=[{"value": "x"}])), "block action is missing action_id"),
        (interaction_body(block_actions(actions=[{"action_id": "a", "value": 5}])), "value must be a string"),
        (interaction_body(block_actions(team={"id": 5})), "id must be a string"),
        (interaction_body(block_actions(response_url=5)), "response_url must be a string"),
    ],
    ids=[
        "empty",
        "empty-payload",
        "no-payload",
        "non-utf8",
        "percent-non-utf8",
        "repeated",
        "not-json",
        "json-list",
        "no-type",
        "empty-type",
        "numeric-type",
        "no-user",
        "user-without-id",
        "no-actions",
        "actions-not-list",
        "action-not-object",
        "action-without-id",
        "numeric-value",
        "numeric-team-id",
        "numeric-response-url",
    ],
)
def test_malformed_interactions_say_what_was_wrong(body: bytes, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        parse_interaction(body)


# --- the button value ------------------------------------------------------------------------


def test_render_answers_buttons_read_back_as_question_team_version_and_text() -> None:
    right, wrong = _buttons("message:T1:C1:1700.1", "PAYMENTS")

    assert (right["action_id"], wrong["action_id"]) == (FEEDBACK_RIGHT, FEEDBACK_WRONG)
    expected = Clicked("message:T1:C1:1700.1", "PAYMENTS", "v7", "who owns refunds?")
    assert read_value(right["value"]) == read_value(wrong["value"]) == expected


def test_a_button_posted_before_answers_carried_version_and_text_still_reads() -> None:
    assert read_value('{"q":"slash:1","team":"SEARCH"}') == Clicked("slash:1", "SEARCH")


def test_the_menus_block_id_reads_back_as_question_team_and_version() -> None:
    assert read_menu(_menu_block_id("slash:trig.9")) == Clicked("slash:trig.9", "PAYMENTS", "v7")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "is empty"),
        ("", "is empty"),
        ("PAYMENTS", "not JSON"),
        ('["q", "team"]', "not a JSON object"),
        ('{"team": "PAYMENTS"}', "no q"),
        ('{"q": "slash:1"}', "no team"),
        ('{"q": " ", "team": "PAYMENTS"}', "no q"),
        ('{"q": "slash:1", "team": 3}', "no team"),
        (json.dumps({"q": "x" * (MAX_FIELD_CHARS + 1), "team": "P"}), "longer than"),
        ('{"q": "slash:1", "team": "P", "v": 7}', "v is not a non-empty string"),
        ('{"q": "slash:1", "team": "P", "text": ["q"]}', "text is not a string"),
        (json.dumps({"q": "slash:1", "team": "P", "text": "x" * 1001}), "text is longer than 1000"),
    ],
)
def test_unreadable_values_are_refused(value: str | None, message: str) -> None:
    with pytest.raises(UnreadableFeedback, match=message):
        read_value(value)


@pytest.mark.parametrize(
    ("block_id", "message"),
    [
        (None, "block_id is empty"),
        ("fb1", "block_id is not JSON"),
        ('{"team": "PAYMENTS"}', "no q"),
        ('{"q": "slash:1", "team": "P", "v": ""}', "v is not a non-empty string"),
    ],
)
def test_unreadable_menu_block_ids_are_refused(block_id: str | None, message: str) -> None:
    with pytest.raises(UnreadableFeedback, match=message):
        read_menu(block_id)


# --- the menu choice ---------------------------------------------------------------------------


def test_a_static_select_choice_is_parsed_with_its_option_value_and_block_id() -> None:
    interaction = parse_interaction(menu_choice("DATA", _menu_block_id()))

    assert isinstance(interaction, BlockActions)
    [action] = interaction.actions
    assert (action.action_id, action.selected_value, action.value) == (FEEDBACK_CORRECT, "DATA", None)
    assert action.block_id == _menu_block_id()


@pytest.mark.parametrize(("chosen", "corrected"), [("DATA", "DATA"), (UNKNOWN_TEAM, UNKNOWN_TEAM)])
def test_a_menu_choice_is_a_correction_of_the_suggested_team(
    json_logs: Any, chosen: str, corrected: str
) -> None:
    interaction = parse_interaction(menu_choice(chosen, _menu_block_id("slash:trig.9")))
    assert isinstance(interaction, BlockActions)

    [feedback] = record(interaction)

    assert (feedback.verdict, feedback.corrected_team, feedback.suggested_team) == (
        "corrected",
        corrected,
        "PAYMENTS",
    )
    assert (feedback.question_id, feedback.model_version) == ("slash:trig.9", "v7")
    [line] = json_logs.events("feedback")
    assert (line["verdict"], line["corrected_team"], line["model_version"]) == ("corrected", corrected, "v7")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (menu_choice(None, '{"q":"slash:1","team":"P"}'), "no selected option"),
        (menu_choice("DATA", "pick"), "block_id is not JSON"),
        (menu_choice("D" * (MAX_FIELD_CHARS + 1), '{"q":"slash:1","team":"P"}'), "longer than"),
    ],
    ids=["no-option", "foreign-block-id", "long-option"],
)
def test_an_unreadable_menu_choice_is_logged_and_not_recorded(
    json_logs: Any, body: bytes, reason: str
) -> None:
    interaction = parse_interaction(body)
    assert isinstance(interaction, BlockActions)

    assert record(interaction) == []
    assert reason in json_logs.events("feedback_unreadable")[0]["reason"]


@pytest.mark.parametrize(
    ("selected", "message"),
    [("DATA", "selected_option must be an object"), ({"value": 5}, "value must be a string")],
)
def test_a_malformed_selected_option_is_a_bad_request(selected: Any, message: str) -> None:
    action = {
        "type": "static_select",
        "action_id": FEEDBACK_CORRECT,
        "block_id": "b",
        "selected_option": selected,
    }

    with pytest.raises(BadRequest, match=message):
        parse_interaction(interaction_body(block_actions(actions=[action])))


# --- the log line ----------------------------------------------------------------------------


@pytest.mark.parametrize(("button", "verdict"), [(0, "right"), (1, "wrong")])
def test_each_click_on_a_rendered_answer_logs_one_feedback_line(
    json_logs: Any, button: int, verdict: str
) -> None:
    element = _buttons("slash:trig.9", "PAYMENTS")[button]
    interaction = parse_interaction(click_body(element["action_id"], element["value"]))
    assert isinstance(interaction, BlockActions)

    with logs.request_context("req-42"):
        assert len(record(interaction, verify_ms=0.1)) == 1

    [line] = json_logs.events("feedback")
    assert line["level"] == "INFO"
    assert {key: line[key] for key in ("verdict", "question_id", "suggested_team", "user_id", "team_id")} == {
        "verdict": verdict,
        "question_id": "slash:trig.9",
        "suggested_team": "PAYMENTS",
        "user_id": "U0001",
        "team_id": "T0001",
    }
    assert line["request_id"] == "req-42" and line["verify_ms"] == 0.1
    assert line["model_version"] == "v7" and line["corrected_team"] is None
    assert RESPONSE_URL not in json_logs.text() and "hooks.slack.com" not in json_logs.text()
    assert "who owns refunds?" not in json_logs.text()  # the question is stored or not at all


def test_unknown_actions_and_unreadable_values_are_logged_not_recorded(json_logs: Any) -> None:
    interaction = BlockActions(
        user_id="U1",
        actions=(
            BlockAction("open_ticket", "x"),
            BlockAction(FEEDBACK_WRONG, "garbage"),
            BlockAction(FEEDBACK_WRONG, '{"q":"slash:1","team":"SEARCH"}'),
        ),
    )

    [recorded] = record(interaction)

    assert (recorded.verdict, recorded.suggested_team) == ("wrong", "SEARCH")
    assert json_logs.events("interaction_ignored")[0]["action_id"] == "open_ticket"
    assert json_logs.events("feedback_unreadable")[0]["reason"] == "the button value is not JSON"
    [line] = json_logs.events("feedback")
    assert (line["verdict"], line["suggested_team"], line["team_id"]) == ("wrong", "SEARCH", None)


def test_feedback_fields_never_look_like_credentials() -> None:
    fields = Feedback("right", "q", "T", "U", "T1", "C1").fields()

    assert not any(word in name for name in fields for word in ("secret", "token", "url", "signature"))


# --- the confirmation job ----------------------------------------------------------------------


@pytest.mark.parametrize(("button", "verdict"), [(0, "right"), (1, "wrong")])
@pytest.mark.parametrize("keep_questions", [False, True])
def test_a_feedback_click_becomes_a_job_with_its_response_url_and_the_question_only_if_kept(
    json_logs: Any, button: int, verdict: str, keep_questions: bool
) -> None:
    element = _buttons("slash:trig.9", "PAYMENTS")[button]
    interaction = parse_interaction(click_body(element["action_id"], element["value"]))
    assert isinstance(interaction, BlockActions)

    job = confirmation_job(
        interaction, record(interaction), request_id="req-7", keep_questions=keep_questions
    )

    assert job == Job.for_feedback(
        verdict=verdict,  # type: ignore[arg-type]
        question_id="slash:trig.9",
        suggested_team="PAYMENTS",
        user_id="U0001",
        response_url=RESPONSE_URL,
        trigger_id="1234.5678.abcdef",
        action_ts="1700000001.000200",
        team_id="T0001",
        request_id="req-7",
        model_version="v7",
        question_text="who owns refunds?" if keep_questions else None,
        channel_id="C0001",
    )
    assert job is not None and job.job_id == "feedback:1234.5678.abcdef"
    assert RESPONSE_URL not in json_logs.text()


def test_a_menu_choice_becomes_a_correction_job_of_its_own() -> None:
    interaction = parse_interaction(menu_choice("DATA", _menu_block_id("slash:trig.9")))
    assert isinstance(interaction, BlockActions)

    job = confirmation_job(interaction, record(interaction), keep_questions=True)

    assert job is not None
    assert (job.kind, job.verdict, job.corrected_team, job.suggested_team) == (
        "feedback",
        "corrected",
        "DATA",
        "PAYMENTS",
    )
    assert (job.question, job.model_version, job.question_text) == ("slash:trig.9", "v7", None)
    assert job.job_id == "feedback:1234.5678.select"  # the choice's own click, not the button's


def test_the_same_click_delivered_twice_makes_the_same_job() -> None:
    jobs = []
    for _ in range(2):
        interaction = parse_interaction(click_body())
        assert isinstance(interaction, BlockActions)
        jobs.append(confirmation_job(interaction, record(interaction)))

    assert jobs[0] is not None and jobs[0] == jobs[1]


@pytest.mark.parametrize(
    "body",
    [
        click_body("open_ticket", "x"),
        click_body(FEEDBACK_WRONG, "not JSON"),
        click_body(response_url=None),
    ],
    ids=["unknown-action", "unreadable-value", "no-response-url"],
)
def test_nothing_to_confirm_or_nowhere_to_confirm_it_makes_no_job(body: bytes) -> None:
    interaction = parse_interaction(body)
    assert isinstance(interaction, BlockActions)

    assert confirmation_job(interaction, record(interaction)) is None


def test_only_the_first_feedback_of_a_payload_is_confirmed() -> None:
    interaction = BlockActions(
        user_id="U1",
        actions=(
            BlockAction(FEEDBACK_RIGHT, '{"q":"slash:1","team":"SEARCH"}'),
            BlockAction(FEEDBACK_WRONG, '{"q":"slash:1","team":"SEARCH"}'),
        ),
        trigger_id="t.9",
        response_url=RESPONSE_URL,
    )

    job = confirmation_job(interaction, record(interaction))

    assert job is not None and (job.job_id, job.verdict) == ("feedback:t.9", "right")
