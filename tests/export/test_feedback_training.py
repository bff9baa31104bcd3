"""`export train --feedback`: which feedback becomes training questions, how they are split in time
without leaking, and how the evaluation reports them apart from the tickets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chalicelib.jobs import UNKNOWN_TEAM
from chalicelib.model.manifest import parse_manifest
from chalicelib.text import normalize
from export.__main__ import main
from export.feedback_csv import FeedbackRow, write_rows
from export.feedback_rows import add_rows, load_feedback
from export.pipeline import ModelParams, training_rows
from export.sample import SAMPLE_TICKETS

TEAMS = {"PAYMENTS", "PLATFORM", "DATA"}


def row(n: int, question: str, verdict: str = "corrected", team: str = "DATA", **fields: str) -> FeedbackRow:
    """One stored click, `n` days into January: the suggested team is PLATFORM, `team` the chosen one."""
    values = {
        "question_id": f"slash:t{n}",
        "user_id": "U1",
        "verdict": verdict,
        "suggested_team": "PLATFORM",
        "corrected_team": team if verdict == "corrected" else "",
        "model_version": "v1",
        "time": f"2026-01-{n:02d}T09:00:00Z",
        "question": question,
    }
    return FeedbackRow(**(values | fields))


def write(tmp_path: Path, rows: list[FeedbackRow]) -> Path:
    path = tmp_path / "feedback.csv"
    write_rows(path, rows)
    return path


def test_corrections_and_confirmations_train_and_what_cannot_is_counted(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        [
            row(1, "why is the nightly export late?"),
            row(2, "who owns the load balancer?", verdict="right"),
            row(3, "who renews the tls certificate?", verdict="wrong"),
            row(4, "who owns the refund api?", team=UNKNOWN_TEAM),
            row(5, ""),
            row(6, "who owns the old billing cron?", team="OLDTEAM"),
            row(7, "<@U0ALICE> :wave:"),
        ],
    )

    feedback = load_feedback(path, TEAMS, 0.5, 2.0)

    asked = {(q.text, q.team) for q in feedback.all}
    assert asked == {("why is the nightly export late", "DATA"), ("the load balancer", "PLATFORM")}
    assert (feedback.corrections, feedback.confirmations) == (1, 1)
    assert feedback.summary() == (
        "feedback: 2 distinct questions from 1 correction and 1 confirmation: 1 to train on, the newest 1 "
        "held out; cannot train: 1 without a stored question (STORE_FEEDBACK_QUESTIONS was off), "
        '1 "I don\'t know", 1 "Wrong team" with no team chosen, 1 with no words left once normalised, '
        "1 for teams the model does not have (OLDTEAM ×1)"
    )
    assert feedback.as_dict()["cannot_train"] == {
        "no_question": 1,
        "dont_know": 1,
        "no_choice": 1,
        "empty_after_normalising": 1,
        "unknown_teams": {"OLDTEAM": 1},
        "unreadable_lines": 0,
    }


def test_questions_are_read_as_the_bot_reads_slacks_text(tmp_path: Path) -> None:
    stored = "<@U0WHOKNOWS> who knows about the VAT &amp; refund <https://wiki.example/vat|runbook>?"

    [question] = load_feedback(write(tmp_path, [row(1, stored, team="PAYMENTS")]), TEAMS, 0.2, 2.0).all

    assert question.question == stored
    assert question.text == normalize(stored) == "the vat refund runbook"


def test_one_question_is_on_one_side_of_the_time_split_only(tmp_path: Path) -> None:
    rows = [row(n, f"who can fix dashboard {n}?") for n in range(1, 9)]
    rows += [
        row(9, "Who can fix dashboard 2?", user_id="U2"),  # asked again, newest of all: still old
        row(10, "who can fix dashboard 2", user_id="U3", team="PAYMENTS"),
    ]

    feedback = load_feedback(write(tmp_path, rows), TEAMS, 0.25, 2.0)

    trained, held = {q.text for q in feedback.train}, {q.text for q in feedback.test}
    assert held == {"who can fix dashboard 7", "who can fix dashboard 8"}
    assert trained.isdisjoint(held) and len(trained) == 6
    [twice] = [q for q in feedback.train if q.text == "who can fix dashboard 2"]
    assert (twice.team, twice.votes, twice.first_time) == ("DATA", 2, "2026-01-02T09:00:00Z")
    assert feedback.disagreements == 1


def test_a_tie_goes_to_the_latest_judgement(tmp_path: Path) -> None:
    rows = [row(1, "who owns the ledger?", team="DATA"), row(2, "who owns the ledger?", team="PAYMENTS")]

    [question] = load_feedback(write(tmp_path, rows), TEAMS, 0.2, 2.0).all

    assert question.team == "PAYMENTS"


def test_feedback_joins_the_rows_the_vocabulary_is_chosen_from(tmp_path: Path) -> None:
    params = ModelParams()
    rows = training_rows(["refund failed"], ["refund"], ["refund lower"], ["PAYMENTS"], params)
    [question] = load_feedback(write(tmp_path, [row(1, "tillpoint terminal offline")]), TEAMS, 0.2, 3.0).all

    add_rows(rows, [question], 3.0)

    assert rows.texts[: rows.vocabulary_rows] == ["refund failed", "refund", "tillpoint terminal offline"]
    assert rows.weights == [1.0, 1.0, 3.0, params.lower_summary_weight]
    assert rows.labels[2] == "DATA"


def test_train_reports_feedback_apart_from_the_tickets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    questions = [
        ("who can give me access to prism?", "DATA"),
        ("prism charts are empty since the deploy", "DATA"),
        ("tillpoint terminals drop their connection", "PAYMENTS"),
        ("who owns the tillpoint card terminals?", "PAYMENTS"),
        ("who runs beacon, our status page?", "PLATFORM"),
    ]
    path = write(tmp_path, [row(n, q, team=t) for n, (q, t) in enumerate(questions, start=1)])
    out = tmp_path / "model"

    code = main(
        [
            "train",
            str(SAMPLE_TICKETS),
            "--out",
            str(out),
            "--min-tickets-per-team",
            "5",
            "--quiet",
            "--feedback",
            str(path),
            "--feedback-weight",
            "3",
        ]
    )

    assert code == 0
    printed = capsys.readouterr().out
    assert "feedback: 5 distinct questions from 5 corrections and 0 confirmations: 4 to train on" in printed
    assert "held-out newest 1 feedback questions: top-1 " in printed
    manifest = parse_manifest((out / "manifest.json").read_bytes())
    learned = manifest.extra["training_data"]["feedback"]
    assert (learned["weight"], learned["train_questions"], learned["test_questions"]) == (3.0, 4, 1)
    metrics = json.loads((out / "evaluation.json").read_text())
    assert metrics["feedback"]["questions"] == 1 and 0 <= metrics["feedback"]["top1"] <= 1
    assert metrics["test_tickets"] == 72  # the tickets' figures are the tickets' alone
    report = (out / "evaluation.md").read_text()
    assert "Feedback questions held out: the newest 1 that people corrected or confirmed" in report


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--feedback", "missing.csv"], "missing.csv does not exist (expected a feedback CSV"),
        (["--feedback-weight", "0"], "argument --feedback-weight: must be above 0 and at most 100, got 0"),
        (["--feedback-weight", "heavy"], "argument --feedback-weight: must be a number, got 'heavy'"),
    ],
)
def test_bad_feedback_options_are_one_line_errors_before_any_work(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    flags: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)

    assert main(["train", str(SAMPLE_TICKETS), "--out", "out", *flags]) == 2

    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_with_test_since_the_questions_judged_after_it_are_held_out(tmp_path: Path) -> None:
    rows = [row(n, f"who can fix dashboard {n}?") for n in range(1, 9)]

    feedback = load_feedback(write(tmp_path, rows), TEAMS, 0.2, 2.0, since="2026-01-05T09:00:00+00:00")

    assert [q.first_time[:10] for q in feedback.test] == ["2026-01-06", "2026-01-07", "2026-01-08"]
    assert len(feedback.train) == 5  # judged up to the date (its own second included)
