"""Team directory: loading, every way a hand-edited file goes wrong, fallback and model checks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chalicelib.model.teams import Team, TeamDirectory, TeamDirectoryError
from export.sample import SAMPLE_TEAMS

SAMPLE_LABELS = ("PAYMENTS", "PLATFORM", "DATA", "IDENTITY", "MOBILE", "SEARCH")


def _write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "teams.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def _with_team(**fields: Any) -> dict[str, Any]:
    return {"teams": {"PAYMENTS": {"display_name": "Payments", **fields}}}


def test_sample_directory_loads_with_every_sample_label() -> None:
    directory = TeamDirectory.load(SAMPLE_TEAMS)

    assert set(directory.teams) == set(SAMPLE_LABELS)
    assert directory.lookup("PAYMENTS") == Team(
        label="PAYMENTS",
        display_name="Payments",
        channel="#payments-help",
        user_group="S0PAYMENTS1",
        description="Billing, invoices, refunds, VAT and the PayStream payment provider integration.",
    )
    assert directory.lookup("MOBILE").user_group is None
    assert directory.problems(SAMPLE_LABELS) == []


def test_optional_fields_may_be_missing_or_null(tmp_path: Path) -> None:
    path = _write(tmp_path, {"teams": {"OPS": {}, "QA": {"channel": "C0123ABCD", "description": "  "}}})

    directory = TeamDirectory.load(path)

    assert directory.lookup("OPS") == Team("OPS", "OPS", None, None, None)
    assert directory.lookup("QA") == Team("QA", "QA", "C0123ABCD", None, None)


def test_unknown_label_falls_back_to_the_bare_label() -> None:
    for directory in (TeamDirectory.empty(), TeamDirectory.load(SAMPLE_TEAMS)):
        assert directory.lookup("LEGAL") == Team("LEGAL", "LEGAL", None, None, None)


def test_problems_reports_both_directions() -> None:
    directory = TeamDirectory.load(SAMPLE_TEAMS)

    problems = directory.problems(["PAYMENTS", "PLATFORM", "DATA", "IDENTITY", "MOBILE", "BILLING"])

    assert problems == [
        "model label 'BILLING' has no team directory entry; answers will show the bare label",
        "team directory entry 'SEARCH' is not a label the model predicts; is it renamed?",
    ]


def test_empty_directory_reports_every_model_label() -> None:
    assert TeamDirectory.empty().problems(["B", "A"]) == [
        "model label 'A' has no team directory entry; answers will show the bare label",
        "model label 'B' has no team directory entry; answers will show the bare label",
    ]


def test_directory_is_read_only() -> None:
    directory = TeamDirectory.empty()
    with pytest.raises(TypeError):
        directory.teams["X"] = Team("X", "X", None, None, None)  # type: ignore[index]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            '{"teams": {',
            "invalid JSON at line 1 column 12: Expecting property name enclosed in double quotes",
        ),
        ("", "invalid JSON at line 1 column 1: Expecting value"),
        ('{"teams": {"A": {}, "A": {}}}', "key 'A' appears more than once"),
        ([], 'expected a JSON object shaped like {"teams": {"LABEL": {"display_name": ...'),
        ({"team": {}}, 'expected a JSON object shaped like {"teams": {"LABEL"'),
        ({"teams": ["PAYMENTS"]}, 'expected a JSON object shaped like {"teams"'),
        ({"teams": {"": {}}}, "team label '' must be non-empty without surrounding spaces"),
        ({"teams": {" DATA": {}}}, "team label ' DATA' must be non-empty without surrounding spaces"),
        (
            {"teams": {"DATA": "#data-help"}},
            "team 'DATA' must be an object with fields display_name, channel, user_group, description",
        ),
        (
            _with_team(chanel="#payments"),
            "team 'PAYMENTS' has unknown field(s) chanel; allowed: display_name, channel, user_group, "
            "description",
        ),
        (_with_team(channel=42), "team 'PAYMENTS': channel must be a string or null, got int"),
        (
            _with_team(display_name=["Payments"]),
            "team 'PAYMENTS': display_name must be a string or null, got list",
        ),
        (_with_team(display_name=" "), "team 'PAYMENTS': display_name must not be empty"),
        (_with_team(channel="payments-help"), "team 'PAYMENTS': channel 'payments-help' must be '#name'"),
        (_with_team(channel="#Payments"), "team 'PAYMENTS': channel '#Payments' must be '#name'"),
        (_with_team(channel="#payments help"), "channel '#payments help' must be '#name'"),
        (
            _with_team(channel="#" + "a" * 81),
            "must be '#name' (lowercase letters, digits, - and _, at most 80",
        ),
        (_with_team(channel="c0123abcd"), "channel 'c0123abcd' must be '#name'"),
        (
            _with_team(user_group="@payments"),
            "team 'PAYMENTS': user_group '@payments' must be a Slack user group id",
        ),
        (_with_team(user_group="s0payments1"), "user_group 's0payments1' must be a Slack user group id"),
        (_with_team(user_group="S"), "user_group 'S' must be a Slack user group id: S followed by uppercase"),
    ],
)
def test_malformed_directory_is_rejected_with_one_line_message(
    tmp_path: Path, content: Any, message: str
) -> None:
    path = _write(tmp_path, content)

    with pytest.raises(TeamDirectoryError) as raised:
        TeamDirectory.load(path)

    text = str(raised.value)
    assert text.startswith(f"{path}: ")
    assert message in text
    assert "\n" not in text


def test_longest_channel_name_and_channel_ids_are_accepted(tmp_path: Path) -> None:
    for channel in ("#" + "a" * 80, "#team_1-help", "C0123ABCD", "G01ABCDEFGH"):
        assert (
            TeamDirectory.load(_write(tmp_path, _with_team(channel=channel))).lookup("PAYMENTS").channel
            == channel
        )


def test_missing_and_unreadable_files_are_reported(tmp_path: Path) -> None:
    missing = tmp_path / "absent.json"
    with pytest.raises(TeamDirectoryError, match="team directory file does not exist"):
        TeamDirectory.load(missing)

    latin1 = tmp_path / "latin1.json"
    latin1.write_bytes('{"teams": {"CAFÉ": {}}}'.encode("latin-1"))
    with pytest.raises(TeamDirectoryError, match="team directory is not UTF-8 text"):
        TeamDirectory.load(latin1)

    with pytest.raises(TeamDirectoryError, match="cannot read team directory"):
        TeamDirectory.load(tmp_path)
