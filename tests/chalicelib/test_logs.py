"""chalicelib.logs: one JSON object per line on stderr, with the request id of the surrounding
request_context, credential-like fields redacted, exceptions named, and phase timings in ms."""

from __future__ import annotations

import json
import logging
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from chalicelib.logs import (
    JsonFormatter,
    Timings,
    error,
    error_text,
    get_logger,
    info,
    request_context,
    warning,
)


def lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    """Every line written to stderr since the last call, parsed; fails on a line that is not JSON."""
    return [json.loads(line) for line in capsys.readouterr().err.splitlines()]


def test_each_call_writes_one_json_object_with_the_standard_fields(
    capsys: pytest.CaptureFixture[str],
) -> None:
    log = get_logger("tests.logs.shape")
    before = datetime.now(UTC)
    info(log, "ticket_routed", team="PAYMENTS", note="first line\nsecond line")
    warning(log, "model_stale", age_s=4000)
    error(log, "post_failed", status=500)
    after = datetime.now(UTC)

    err = capsys.readouterr().err
    assert err.count("\n") == 3  # the newline inside `note` is escaped, not printed
    first, second, third = (json.loads(line) for line in err.splitlines())
    assert first == {
        "time": first["time"],
        "level": "INFO",
        "logger": "chalicelib.tests.logs.shape",
        "event": "ticket_routed",
        "request_id": None,
        "team": "PAYMENTS",
        "note": "first line\nsecond line",
    }
    assert (second["level"], second["event"], second["age_s"]) == ("WARNING", "model_stale", 4000)
    assert (third["level"], third["event"], third["status"]) == ("ERROR", "post_failed", 500)
    logged = datetime.fromisoformat(first["time"])
    assert logged.utcoffset() == timedelta(0)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", first["time"])
    assert before - timedelta(milliseconds=1) <= logged <= after


def test_fields_keep_non_ascii_text_as_written(capsys: pytest.CaptureFixture[str]) -> None:
    info(get_logger("tests.logs.text"), "asked", question="Qui gère la facturation ? 数据库")
    err = capsys.readouterr().err
    assert "Qui gère la facturation ? 数据库" in err
    assert json.loads(err)["question"] == "Qui gère la facturation ? 数据库"


def test_loggers_live_under_chalicelib_and_get_one_handler(capsys: pytest.CaptureFixture[str]) -> None:
    assert get_logger("worker.jobs").name == "chalicelib.worker.jobs"
    assert get_logger("chalicelib.model.store").name == "chalicelib.model.store"
    assert get_logger("chalicelib").name == "chalicelib"
    for _ in range(3):
        log = get_logger("tests.logs.repeat")
    info(log, "once")
    assert [line["event"] for line in lines(capsys)] == ["once"]


def test_a_name_that_only_starts_with_the_root_name_is_still_put_under_it() -> None:
    assert get_logger("chalicelibrary.helpers").name.startswith("chalicelib.")


def test_lines_do_not_also_reach_the_python_root_logger(capsys: pytest.CaptureFixture[str]) -> None:
    seen: list[logging.LogRecord] = []

    class Recorder(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    recorder = Recorder(level=logging.DEBUG)
    logging.getLogger().addHandler(recorder)
    try:
        info(get_logger("tests.logs.propagate"), "printed_once")
    finally:
        logging.getLogger().removeHandler(recorder)
    assert [line["event"] for line in lines(capsys)] == ["printed_once"]
    assert seen == []


def test_debug_is_below_the_level_printed(capsys: pytest.CaptureFixture[str]) -> None:
    log = get_logger("tests.logs.levels")
    log.debug("too_chatty")
    info(log, "worth_reading")
    assert [line["event"] for line in lines(capsys)] == ["worth_reading"]


def test_request_context_sets_and_restores_the_request_id(capsys: pytest.CaptureFixture[str]) -> None:
    log = get_logger("tests.logs.context")
    info(log, "before")
    with request_context("req-outer") as outer:
        info(log, "outer_start")
        with request_context("req-inner") as inner:
            info(log, "inner")
        info(log, "outer_end")
    info(log, "after")
    assert (outer, inner) == ("req-outer", "req-inner")
    assert [(line["event"], line["request_id"]) for line in lines(capsys)] == [
        ("before", None),
        ("outer_start", "req-outer"),
        ("inner", "req-inner"),
        ("outer_end", "req-outer"),
        ("after", None),
    ]


def test_request_context_is_restored_when_the_block_raises(capsys: pytest.CaptureFixture[str]) -> None:
    log = get_logger("tests.logs.context_error")
    with request_context("req-outer"):
        with pytest.raises(RuntimeError), request_context("req-failing"):
            raise RuntimeError("handler broke")
        info(log, "still_outer")
    info(log, "outside")
    assert [line["request_id"] for line in lines(capsys)] == ["req-outer", None]


def test_request_context_without_an_id_makes_a_new_local_one(capsys: pytest.CaptureFixture[str]) -> None:
    log = get_logger("tests.logs.local_id")
    with request_context(None) as first:
        info(log, "first")
    with request_context(None) as second:
        info(log, "second")
    assert re.fullmatch(r"local-[0-9a-f]{16}", first)
    assert re.fullmatch(r"local-[0-9a-f]{16}", second)
    assert first != second
    assert [line["request_id"] for line in lines(capsys)] == [first, second]


@pytest.mark.parametrize(
    "name",
    [
        "slack_signing_secret",
        "bot_token",
        "X-Slack-Signature",
        "response_url",
        "Authorization",
        "db_password",
        "clientSecret",
    ],
)
def test_fields_named_like_credentials_are_redacted(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    info(
        get_logger("tests.logs.redact"), "request_seen", **{name: "xoxb-do-not-print-me", "channel": "C0001"}
    )
    err = capsys.readouterr().err
    assert "xoxb-do-not-print-me" not in err
    line = json.loads(err)
    assert line[name] == "[redacted]"
    assert line["channel"] == "C0001"


def test_a_caught_exception_is_recorded_as_type_and_message(capsys: pytest.CaptureFixture[str]) -> None:
    log = get_logger("tests.logs.exception")
    try:
        raise KeyError("team_id")
    except KeyError:
        error(log, "lookup_failed", exc_info=True, job_id="J1")
    error(log, "no_exception_being_handled", exc_info=True)
    error(log, "not_asked_for")
    with_exception, without_one, not_asked = lines(capsys)
    assert with_exception["exception"] == "KeyError: 'team_id'"
    assert with_exception["job_id"] == "J1"
    assert "exception" not in without_one
    assert "exception" not in not_asked


def test_error_text_names_the_type_then_the_message() -> None:
    class ModelGone(Exception):
        pass

    assert error_text(ValueError("size_bytes must be positive")) == "ValueError: size_bytes must be positive"
    assert error_text(ModelGone("s3://bucket/model.onnx")) == "ModelGone: s3://bucket/model.onnx"
    assert error_text(TimeoutError()) == "TimeoutError: "


def test_values_json_cannot_hold_are_written_as_their_text(capsys: pytest.CaptureFixture[str]) -> None:
    class Team:
        def __str__(self) -> str:
            return "team PAYMENTS"

    when = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    info(
        get_logger("tests.logs.values"),
        "odd_values",
        path=Path("/var/task/model.onnx"),
        when=when,
        team=Team(),
        raw=b"\x00abc",
        counts={"A": 1},
    )
    line = lines(capsys)[0]
    assert line["path"] == "/var/task/model.onnx"
    assert line["when"] == str(when)
    assert line["team"] == "team PAYMENTS"
    assert line["raw"] == str(b"\x00abc")
    assert line["counts"] == {"A": 1}  # JSON-ready values stay structured


def test_json_formatter_on_a_record_made_elsewhere() -> None:
    record = logging.makeLogRecord(
        {
            "name": "chalicelib.elsewhere",
            "levelname": "WARNING",
            "levelno": logging.WARNING,
            "msg": "retry %d of %d",
            "args": (2, 3),
            "created": datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=UTC).timestamp(),
            "request_id": "req-from-record",
            "fields": {"api_token": "xoxp-1", "attempt": 2},
        }
    )
    with request_context("req-from-context"):
        line = json.loads(JsonFormatter().format(record))
    assert line == {
        "time": "2024-01-02T03:04:05.678+00:00",
        "level": "WARNING",
        "logger": "chalicelib.elsewhere",
        "event": "retry 2 of 3",
        "request_id": "req-from-record",
        "api_token": "[redacted]",
        "attempt": 2,
    }


def test_json_formatter_falls_back_to_the_context_request_id() -> None:
    record = logging.makeLogRecord({"name": "chalicelib.plain", "msg": "plain record"})
    with request_context("req-from-context"):
        line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "req-from-context"
    assert line["event"] == "plain record"


def test_timings_measure_milliseconds_per_phase() -> None:
    timings = Timings()
    with timings.measure("verify"):
        time.sleep(0.02)
    with timings.measure("dispatch"):
        pass
    assert set(timings) == {"verify_ms", "dispatch_ms"}
    assert 20.0 <= timings["verify_ms"] < 2000.0
    assert 0.0 <= timings["dispatch_ms"] < timings["verify_ms"]
    assert timings["verify_ms"] == round(timings["verify_ms"], 3)
    assert json.loads(json.dumps(timings)) == dict(timings)  # logged as a plain object


def test_timings_are_recorded_even_when_the_block_raises() -> None:
    timings = Timings()
    with pytest.raises(ConnectionError), timings.measure("post"):
        time.sleep(0.01)
        raise ConnectionError("slack unreachable")
    assert timings["post_ms"] >= 10.0
