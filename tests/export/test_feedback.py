"""`export feedback pull` against the feedback table on the moto DynamoDB server, filled by the
worker's own store, and `export feedback report` on what it wrote: the CSV's columns, every page of
the scan, live precision per team and per model version, the weekly PNG, and one-line errors."""

from __future__ import annotations

import csv
import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest

from chalicelib.jobs import UNKNOWN_TEAM, Job
from chalicelib.worker.feedback_store import DynamoDBFeedbackStore, FeedbackRecord
from export.__main__ import main
from export.feedback_csv import COLUMNS, FeedbackRow, read_rows, write_rows
from export.feedback_pull import scan
from export.feedback_report import report_lines, weekly
from tests.support.dynamodb import Table

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# (question, user, verdict, suggested, corrected, version, day in June 2024)
CLICKS = [
    ("slash:q1", "U1", "right", "DATA", None, "v1", 3),
    ("slash:q2", "U1", "right", "DATA", None, "v1", 4),
    ("slash:q3", "U2", "wrong", "DATA", None, "v1", 5),
    ("slash:q4", "U2", "corrected", "PAYMENTS", "DATA", "v1", 6),
    ("slash:q5", "U3", "right", "PAYMENTS", None, "v2", 11),
    ("slash:q6", "U3", "corrected", "SEARCH", UNKNOWN_TEAM, "v2", 12),
    ("slash:q6", "U4", "right", "SEARCH", None, "v2", 19),
]


def _store(table: Table, keep_questions: bool = True) -> DynamoDBFeedbackStore:
    return DynamoDBFeedbackStore(table.name, 365, keep_questions, client=boto3.client("dynamodb"))


def fill(table: Table) -> None:
    """The clicks above, written by the worker's store as the worker writes them."""
    store = _store(table)
    for question, user, verdict, suggested, corrected, version, day in CLICKS:
        job = Job.for_feedback(
            verdict=verdict,  # type: ignore[arg-type]
            question_id=question,
            suggested_team=suggested,
            corrected_team=corrected,
            model_version=version,
            user_id=user,
            response_url="https://hooks.slack.com/actions/T1/1/secret",
            trigger_id=f"{question}-{user}",
            team_id="T1",
            channel_id="C1",
            question_text=f"question {question} &amp; more",
        )
        store.save(FeedbackRecord.from_job(job, datetime(2024, 6, day, 10, tzinfo=UTC), keep_question=True))


def test_pull_writes_every_record_oldest_first_with_the_documented_columns(
    feedback_table: Table, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fill(feedback_table)
    out = tmp_path / "exports" / "feedback.csv"

    assert main(["feedback", "pull", f"dynamodb://{feedback_table.name}", "--out", str(out)]) == 0

    assert f"pulled 7 feedback records (4 right, 1 wrong, 2 corrected) from {feedback_table.name}" in (
        capsys.readouterr().out
    )
    with out.open(newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == COLUMNS
        rows = list(reader)
    assert [(row["question_id"], row["user_id"]) for row in rows] == [(c[0], c[1]) for c in CLICKS]
    assert rows[3] | {"time": "", "question": ""} == {
        "question_id": "slash:q4",
        "user_id": "U2",
        "verdict": "corrected",
        "suggested_team": "PAYMENTS",
        "corrected_team": "DATA",
        "model_version": "v1",
        "time": "",
        "team_id": "T1",
        "channel_id": "C1",
        "question": "",
    }
    assert rows[3]["time"] == "2024-06-06T10:00:00Z"
    assert rows[3]["question"] == "question slash:q4 &amp; more"  # as Slack sent it
    assert rows[5]["corrected_team"] == UNKNOWN_TEAM


def test_every_page_of_the_scan_is_read(feedback_table: Table) -> None:
    fill(feedback_table)
    pages: list[int] = []
    client = boto3.client("dynamodb")
    client.meta.events.register("after-call.dynamodb.Scan", lambda parsed, **_: pages.append(parsed["Count"]))

    rows = list(scan(client, feedback_table.name, page_size=2))

    assert len(rows) == 7 and len(pages) >= 4
    assert {(row.question_id, row.user_id) for row in rows} == {(c[0], c[1]) for c in CLICKS}


def test_the_csv_columns_are_the_stored_records_fields() -> None:
    assert tuple(field.name for field in dataclasses.fields(FeedbackRow)) == COLUMNS


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing-table", "DynamoDB table whoknows-test-absent does not exist"),
        ("bad-name", "bad feedback store 's3://bucket/x'"),
        ("no-credentials", "no AWS credentials to read table"),
        ("endpoint-down", "cannot reach DynamoDB for table"),
        ("out-is-a-folder", "is a directory"),
    ],
)
def test_pull_failures_are_one_line(
    case: str,
    message: str,
    feedback_table: Table,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store, out, extra = feedback_table.name, tmp_path / "f.csv", []
    match case:
        case "missing-table":
            store = "whoknows-test-absent"
        case "bad-name":
            store = "s3://bucket/x"
        case "no-credentials":
            for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
                monkeypatch.delenv(name)
            monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
        case "endpoint-down":
            extra = ["--endpoint-url", "http://127.0.0.1:9"]
        case "out-is-a-folder":
            out = tmp_path

    code = main(["feedback", "pull", store, "--out", str(out), *extra])

    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1, err
    assert message in err and "Traceback" not in err and "testing" not in err
    assert not (tmp_path / "f.csv").exists()


def _pulled(table: Table, tmp_path: Path) -> Path:
    fill(table)
    out = tmp_path / "feedback.csv"
    assert main(["feedback", "pull", table.name, "--out", str(out)]) == 0
    return out


def test_report_prints_precision_per_team_and_version_and_writes_the_weekly_png(
    feedback_table: Table, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv_path = _pulled(feedback_table, tmp_path)
    capsys.readouterr()

    assert main(["feedback", "report", str(csv_path), "--out", str(tmp_path / "report.png")]) == 0

    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == (
        f"{csv_path}: 7 verdicts from 2024-06-03 to 2024-06-19 (4 right, 1 wrong, 2 corrected)"
    )
    assert _row(lines, "suggested team", "DATA") == ["0.67", "2", "1", "0", "3"]
    assert _row(lines, "suggested team", "PAYMENTS") == ["0.50", "1", "0", "1", "2"]
    assert _row(lines, "suggested team", "SEARCH") == ["0.50", "1", "0", "1", "2"]
    assert _row(lines, "suggested team", "all") == ["0.57", "4", "1", "2", "7"]
    assert _row(lines, "model version", "v1") == ["0.50", "2", "1", "1", "4"]
    assert _row(lines, "model version", "v2") == ["0.67", "2", "0", "1", "3"]
    assert "  PAYMENTS → DATA: 1" in lines and "  SEARCH → I don't know: 1" in lines
    png = (tmp_path / "report.png").read_bytes()
    assert png.startswith(PNG_SIGNATURE) and len(png) > 10_000
    assert f"wrote {tmp_path / 'report.png'} (precision by week, 3 weeks)" in out


def _row(lines: list[str], table: str, name: str) -> list[str]:
    start = next(i for i, line in enumerate(lines) if line.startswith(table))
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        if line.split()[0] == name or line.startswith(name + " "):
            return line[len(name) :].split()
    raise AssertionError(f"no {name} row under {table}")


def test_weeks_without_feedback_are_kept_in_the_chart_as_zero() -> None:
    rows = [
        FeedbackRow("q1", "U1", "right", "DATA", time="2024-06-03T10:00:00Z"),
        FeedbackRow("q2", "U1", "wrong", "DATA", time="2024-06-24T10:00:00Z"),
    ]

    weeks = weekly(rows)

    assert [week.isoformat() for week in weeks] == ["2024-06-03", "2024-06-10", "2024-06-17", "2024-06-24"]
    assert [counts.total for counts in weeks.values()] == [1, 0, 0, 1]


def test_the_default_png_is_beside_the_csv(tmp_path: Path) -> None:
    csv_path = tmp_path / "june.csv"
    write_rows(csv_path, [FeedbackRow("q1", "U1", "right", "DATA", time="2024-06-03T10:00:00Z")])

    assert main(["feedback", "report", str(csv_path)]) == 0

    assert (tmp_path / "june-precision.png").read_bytes().startswith(PNG_SIGNATURE)


def test_rows_that_are_not_feedback_are_skipped_and_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv_path = tmp_path / "f.csv"
    rows = [
        FeedbackRow("q1", "U1", "right", "DATA", time="2024-06-03T10:00:00Z"),
        FeedbackRow("q2", "U1", "maybe", "DATA", time="2024-06-03T10:00:00Z"),
        FeedbackRow("q3", "U1", "wrong", "", time="2024-06-03T10:00:00Z"),
    ]
    write_rows(csv_path, rows)

    assert main(["feedback", "report", str(csv_path)]) == 0

    out = capsys.readouterr().out
    assert "warning: skipped line 3: unknown verdict 'maybe'" in out
    assert "warning: skipped line 4: no suggested_team" in out
    assert ": 1 verdicts from 2024-06-03" in out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        ("key,summary,team\nA-1,x,DATA\n", "is not a feedback CSV: no question_id, user_id, verdict"),
        (",".join(COLUMNS) + "\n", "holds no feedback yet"),
        (b"\xff\xfe\x00bad", "is not UTF-8 text"),
    ],
    ids=["missing", "tickets-csv", "empty", "not-utf8"],
)
def test_report_failures_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: Any, message: str
) -> None:
    csv_path = tmp_path / "f.csv"
    if isinstance(content, bytes):
        csv_path.write_bytes(content)
    elif content is not None:
        csv_path.write_text(content)

    assert main(["feedback", "report", str(csv_path)]) == 2

    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1
    assert not list(tmp_path.glob("*.png"))


def test_read_rows_gives_back_what_write_rows_wrote(tmp_path: Path) -> None:
    rows = [
        FeedbackRow(
            "q1", "U1", "corrected", "DATA", "PAYMENTS", "v1", "2024-06-03T10:00:00Z", "T1", "C1", ' a, "q"\n'
        ),
    ]

    write_rows(tmp_path / "f.csv", rows)

    assert read_rows(tmp_path / "f.csv").rows == rows
    assert rows[0].right_team == "PAYMENTS"
    assert dataclasses.replace(rows[0], corrected_team=UNKNOWN_TEAM).right_team is None


def test_the_report_reads_the_same_from_rows() -> None:
    rows = [FeedbackRow("q1", "U1", "right", "DATA", model_version="", time="2024-06-03T10:00:00Z")]

    lines = report_lines(rows, "x.csv")

    assert any(line.startswith("(unknown)") for line in lines)  # answers that recorded no version
