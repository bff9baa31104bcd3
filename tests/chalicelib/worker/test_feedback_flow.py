"""Feedback from click to store, and `/whoknows teams`, with real parts: the routes through
chalice.test.Client in local mode, the worker's code on the dispatcher's threads, a real ONNX model
published to the moto S3 server, the feedback table on the moto DynamoDB server (shaped as the deploy
template declares it), and the Slack stand-in receiving what slack_sdk posts.

"Wrong team" stores the verdict and asks which team was right (ephemeral, the answer stays); the
choice in that menu, sent back as Slack sends a static_select, updates the record and is confirmed
in place of the menu. A store that is down fails the job (Lambda retries it; then the dead-letter
queue), so no click is dropped silently."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chalicelib.api import runtime as api_runtime
from chalicelib.jobs import UNKNOWN_TEAM, Job
from chalicelib.slack.render import FEEDBACK_CORRECT, FEEDBACK_RIGHT, FEEDBACK_WRONG
from chalicelib.worker.handler import get_worker, run_job
from chalicelib.worker.worker import NO_MODEL, DeliveryFailed
from tests.support.dynamodb import Table, create_table
from tests.support.interactions import answer_button, click_body, menu_choice
from tests.support.serving import apply_env, signed, slash_body
from tests.support.slack_standin import SlackStandIn

FORM = "application/x-www-form-urlencoded"
QUESTION = "why does the nightly export to the warehouse time out?"
OTHER_TEAMS = [
    "Identity",
    "Mobile",
    "Payments",
    "Platform",
    "Search",
    "I don't know",
]  # not the suggested Data


def _send(feedback_bot: dict[str, Any], path: str, body: bytes) -> Any:
    response = feedback_bot["client"].http.post(path, headers=signed(body, FORM), body=body)
    api_runtime.get_runtime().dispatcher.join(timeout=30)  # type: ignore[attr-defined]  # LocalDispatcher
    return response


def _ask(feedback_bot: dict[str, Any], name: str = "ask") -> dict[str, Any]:
    """A slash command answered by the worker; returns the answer's body as Slack received it."""
    slack: SlackStandIn = feedback_bot["slack"]
    before = len(slack.accepted)
    _send(feedback_bot, "/slack/commands", slash_body(QUESTION, response_url=slack.response_url(name)))
    return slack.wait_for(before + 1)[-1].body


def _latest(slack: SlackStandIn, count: int) -> Any:
    return slack.wait_for(count)[-1]


def test_wrong_team_is_stored_and_asks_which_team_was_right_then_the_choice_updates_it(
    feedback_bot: dict[str, Any],
) -> None:
    slack: SlackStandIn = feedback_bot["slack"]
    answer = _ask(feedback_bot)
    assert "Data" in answer["text"]

    wrong = answer_button(answer, FEEDBACK_WRONG)
    _send(
        feedback_bot,
        "/slack/interactions",
        click_body(FEEDBACK_WRONG, wrong["value"], response_url=slack.response_url("wrong")),
    )

    menu_post = _latest(slack, 2)
    assert menu_post.path == "/response/wrong"
    assert (menu_post.body["response_type"], menu_post.body["replace_original"]) == ("ephemeral", False)
    assert menu_post.body["text"] == "Thanks — noted that Data was not the right team. Which team was right?"
    [section] = [block for block in menu_post.body["blocks"] if block.get("accessory")]
    select = section["accessory"]
    assert (select["type"], select["action_id"]) == ("static_select", FEEDBACK_CORRECT)
    assert [option["text"]["text"] for option in select["options"]] == OTHER_TEAMS
    [stored] = feedback_bot["table"].items()
    assert (stored["verdict"], stored["suggested_team"], stored["user_id"]) == ("wrong", "DATA", "U0001")
    assert stored["question_id"] == "slash:trig.123" and stored["question"] == QUESTION
    assert stored["model_version"] and (stored["team_id"], stored["channel_id"]) == ("T0001", "C0001")

    platform = next(option for option in select["options"] if option["text"]["text"] == "Platform")
    _send(
        feedback_bot,
        "/slack/interactions",
        menu_choice(platform["value"], section["block_id"], response_url=slack.response_url("menu")),
    )

    thanks = _latest(slack, 3)
    assert thanks.path == "/response/menu"
    assert thanks.body["text"] == "Thanks — noted that Platform was the right team."
    assert thanks.body["replace_original"] is True  # the menu is replaced: a correction is made once
    [corrected] = feedback_bot["table"].items()
    assert (corrected["verdict"], corrected["corrected_team"], corrected["suggested_team"]) == (
        "corrected",
        "PLATFORM",
        "DATA",
    )
    assert corrected["question"] == QUESTION and corrected["model_version"] == stored["model_version"]
    assert len(slack.received) == 3


def test_i_dont_know_is_stored_as_a_correction_to_the_unknown_team(feedback_bot: dict[str, Any]) -> None:
    slack: SlackStandIn = feedback_bot["slack"]
    wrong = answer_button(_ask(feedback_bot), FEEDBACK_WRONG)
    _send(
        feedback_bot,
        "/slack/interactions",
        click_body(FEEDBACK_WRONG, wrong["value"], response_url=slack.response_url("w")),
    )
    [section] = [block for block in _latest(slack, 2).body["blocks"] if block.get("accessory")]

    _send(
        feedback_bot,
        "/slack/interactions",
        menu_choice(UNKNOWN_TEAM, section["block_id"], response_url=slack.response_url("m")),
    )

    assert _latest(slack, 3).body["text"] == "Thanks — noted that Data was not the right team."
    [record] = feedback_bot["table"].items()
    assert (record["verdict"], record["corrected_team"]) == ("corrected", UNKNOWN_TEAM)


def test_that_helped_stays_one_click_stored_and_thanked(feedback_bot: dict[str, Any], json_logs: Any) -> None:
    slack: SlackStandIn = feedback_bot["slack"]
    right = answer_button(_ask(feedback_bot), FEEDBACK_RIGHT)

    _send(
        feedback_bot,
        "/slack/interactions",
        click_body(FEEDBACK_RIGHT, right["value"], response_url=slack.response_url("r")),
    )

    thanks = _latest(slack, 2)
    assert thanks.body["text"] == "Thanks — noted that Data was the right team."
    assert thanks.body["replace_original"] is False
    [record] = feedback_bot["table"].items()
    assert record["verdict"] == "right" and "corrected_team" not in record
    [done] = [line for line in json_logs.events("job_done") if line["kind"] == "feedback"]
    assert done["stored"] == "stored" and done["store_ms"] >= 0


def test_a_redelivered_click_is_stored_once(feedback_bot: dict[str, Any]) -> None:
    slack: SlackStandIn = feedback_bot["slack"]
    right = answer_button(_ask(feedback_bot), FEEDBACK_RIGHT)
    body = click_body(FEEDBACK_RIGHT, right["value"], response_url=slack.response_url("r"))

    _send(feedback_bot, "/slack/interactions", body)
    _send(feedback_bot, "/slack/interactions", body)

    assert len(slack.wait_for(2)) == 2  # the answer and one "thanks"
    assert len(feedback_bot["table"].items()) == 1


def test_without_question_storage_the_question_never_reaches_the_table(
    feedback_bot: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    slack: SlackStandIn = feedback_bot["slack"]
    apply_env(monkeypatch, {**feedback_bot["env"], "STORE_FEEDBACK_QUESTIONS": "false"})
    wrong = answer_button(_ask(feedback_bot), FEEDBACK_WRONG)

    _send(
        feedback_bot,
        "/slack/interactions",
        click_body(FEEDBACK_WRONG, wrong["value"], response_url=slack.response_url("w")),
    )

    [record] = feedback_bot["table"].items()
    assert record["verdict"] == "wrong" and "question" not in record


def test_a_store_that_is_down_fails_the_job_for_lambda_to_retry_and_loses_nothing(
    feedback_bot: dict[str, Any], json_logs: Any
) -> None:
    slack: SlackStandIn = feedback_bot["slack"]
    table: Table = feedback_bot["table"]
    right = answer_button(_ask(feedback_bot), FEEDBACK_RIGHT)
    payload = Job.for_feedback(
        verdict="right",
        question_id=json.loads(right["value"])["q"],
        suggested_team="DATA",
        user_id="U0001",
        response_url=slack.response_url("r"),
        trigger_id="click.down",
        team_id="T0001",
    ).to_dict()
    table.client.delete_table(TableName=table.name)  # the table is gone mid-run

    with pytest.raises(DeliveryFailed, match="ResourceNotFoundException"):
        run_job(payload)

    [failed] = json_logs.events("feedback_store_failed")
    assert failed["level"] == "ERROR" and failed["job_id"] == "feedback:click.down"
    assert table.name in failed["error"]
    assert len(slack.received) == 1  # only the answer: no "thanks" for a click that was not stored
    create_table(table.client, table.name, "FeedbackTable")  # the table is back: Lambda's retry stores it
    assert run_job(payload)["outcome"] == "answered"
    assert [record["verdict"] for record in table.items()] == ["right"]
    assert _latest(slack, 2).body["text"] == "Thanks — noted that Data was the right team."


def test_without_a_model_a_wrong_click_is_stored_and_thanked_without_a_menu(
    feedback_bot: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, json_logs: Any
) -> None:
    slack: SlackStandIn = feedback_bot["slack"]
    apply_env(monkeypatch, {**feedback_bot["env"], "MODEL_URI": str(tmp_path / "nothing-published")})

    _send(
        feedback_bot, "/slack/interactions", click_body(FEEDBACK_WRONG, response_url=slack.response_url("w"))
    )

    [post] = slack.wait_for(1)
    assert post.body["text"] == (
        "Thanks — noted that Payments was not the right team; the people who run whoknows will see it."
    )
    assert [record["verdict"] for record in feedback_bot["table"].items()] == ["wrong"]
    assert json_logs.events("feedback_without_model")[0]["level"] == "WARNING"
    assert json_logs.events("model_unavailable") == []


def test_without_a_feedback_table_clicks_are_kept_in_the_containers_memory(
    feedback_bot: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    slack: SlackStandIn = feedback_bot["slack"]
    env = {name: value for name, value in feedback_bot["env"].items() if name != "FEEDBACK_TABLE"}
    apply_env(monkeypatch, env)
    right = answer_button(_ask(feedback_bot), FEEDBACK_RIGHT)

    _send(
        feedback_bot,
        "/slack/interactions",
        click_body(FEEDBACK_RIGHT, right["value"], response_url=slack.response_url("r")),
    )

    assert _latest(slack, 2).body["text"] == "Thanks — noted that Data was the right team."
    [record] = get_worker().feedback.records()  # type: ignore[attr-defined]  # InMemoryFeedbackStore
    assert (record.verdict, record.suggested_team, record.question) == ("right", "DATA", QUESTION)
    assert feedback_bot["table"].items() == []


# --- /whoknows teams -----------------------------------------------------------------------------


def test_whoknows_teams_lists_the_models_teams_with_channel_and_description(
    feedback_bot: dict[str, Any],
) -> None:
    slack: SlackStandIn = feedback_bot["slack"]

    ack = _send(
        feedback_bot, "/slack/commands", slash_body("Teams", response_url=slack.response_url("teams"))
    )

    assert json.loads(ack.body)["text"] == "Looking up the teams I know…"
    [post] = slack.wait_for(1)
    assert post.path == "/response/teams" and post.body["response_type"] == "ephemeral"
    sections = [block["text"]["text"] for block in post.body["blocks"] if block["type"] == "section"]
    assert sections[0].startswith("*The 6 teams I know* (model ")
    assert [section.split("*")[1] for section in sections[1:]] == [
        "Data",
        "Identity",
        "Mobile",
        "Payments",
        "Platform",
        "Search",
    ]
    assert sections[1] == (
        "*Data* — ask in #data-help or <!subteam^S0DATATEAM1>\n"
        "The nightly export, ETL and Airflow DAGs, the warehouse and its dashboards."
    )


def test_whoknows_teams_without_a_model_says_so(
    feedback_bot: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    slack: SlackStandIn = feedback_bot["slack"]
    apply_env(monkeypatch, {**feedback_bot["env"], "MODEL_URI": str(tmp_path / "nothing-published")})

    _send(feedback_bot, "/slack/commands", slash_body("teams", response_url=slack.response_url("teams")))

    [post] = slack.wait_for(1)
    assert NO_MODEL in post.body["text"]
