"""`python -m export ask`: the bot's answer from a training folder or from S3, as an operator reads it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from export.__main__ import main
from export.publish import publish


def ask(*args: str) -> int:
    return main(["ask", *args])


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    return err.strip()


def test_prints_the_ranking_and_the_bot_s_answer(
    sample_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert ask("--model", str(sample_model_dir), "our iOS push notifications stopped") == 0

    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Q: our iOS push notifications stopped"
    assert lines[1].startswith("  1. MOBILE ")
    assert "low confidence" not in "\n".join(lines)
    assert lines[4].startswith("  because of: ") and "push" in lines[4]
    assert "past ticket" in lines[5]  # the evidence, or that none is similar enough
    assert lines[-1].startswith(
        "bot: MOBILE can most likely help with “our iOS push notifications stopped” ("
    )


@pytest.mark.parametrize("how", ["flag", "environment"])
def test_below_the_threshold_it_says_what_the_bot_says(
    how: str, sample_model_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    flags = ["--threshold", "0.99"] if how == "flag" else []
    if how == "environment":
        monkeypatch.setenv("CONFIDENCE_THRESHOLD", "0.99")

    assert ask("--model", str(sample_model_dir), *flags, "our iOS push notifications stopped") == 0

    lines = capsys.readouterr().out.splitlines()
    assert all(line.endswith("(low confidence)") for line in lines[1:4])
    assert lines[-1].startswith(
        "bot: I'm not sure who can help with “our iOS push notifications stopped”. "
        "Best guesses (low confidence): MOBILE "
    )


def test_the_default_threshold_is_the_models_own(
    sample_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = json.loads((sample_model_dir / "manifest.json").read_text())
    assert ask("--model", str(sample_model_dir), "--json", "the thing is broken again") == 0

    answer = json.loads(capsys.readouterr().out)
    assert answer["threshold"] == manifest["confidence_threshold"]["value"]
    assert answer["answer"] == "unsure"  # below the model's own threshold


def test_a_file_of_questions_gives_one_json_line_each(
    sample_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    questions = tmp_path / "questions.txt"
    questions.write_text("our iOS push notifications stopped\n\n🔥🔥\nzzqx qqzx\nthe thing is broken again\n")

    assert ask("--model", str(sample_model_dir), "--questions", str(questions)) == 0

    answers = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [a["question"] for a in answers] == [
        "our iOS push notifications stopped",
        "🔥🔥",
        "zzqx qqzx",
        "the thing is broken again",
    ]
    assert [a["answer"] for a in answers] == ["confident", "unknown_words", "unknown_words", "unsure"]
    first = answers[0]
    assert first["teams"][0]["team"] == "MOBILE" and len(first["teams"]) == 3
    assert "push" in first["because"] and first["known_words"] >= 4
    assert answers[1]["teams"] == [] or answers[1]["known_words"] == 0


def test_questions_from_stdin(sample_model_dir: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "export", "ask", "--model", str(sample_model_dir), "--questions", "-"],
        input="who owns the login page?\nour iOS push notifications stopped\n",
        capture_output=True,
        text=True,
        check=True,
    )
    teams = [json.loads(line)["teams"][0]["team"] for line in done.stdout.splitlines()]
    assert teams == ["IDENTITY", "MOBILE"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ([], "give one question, or --questions FILE"),
        (["who owns refunds?", "--questions", "-"], "give one question, or --questions FILE"),
        (["--questions", "{tmp}/absent.txt"], "--questions {tmp}/absent.txt does not exist"),
        (["--questions", "{tmp}"], "is a directory; give a file with one question per line"),
    ],
)
def test_questions_are_checked_before_the_model_is_read(
    arguments: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert ask("--model", str(tmp_path / "no-model"), *[a.format(tmp=tmp_path) for a in arguments]) == 2

    assert message.format(tmp=tmp_path) in one_line_error(capsys)


def test_columns_line_up_for_long_team_names(
    summary_only_model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert ask("--model", str(summary_only_model), "--top", "6", "refund invoice VAT wrong") == 0

    rows = capsys.readouterr().out.splitlines()[1:7]
    assert len({row.index("%") for row in rows}) == 1, rows
    assert any("Platform Infrastructure and Reliability" in row for row in rows)
    assert any(row.split(". ", 1)[1].startswith("Mobile ") for row in rows)


@pytest.mark.parametrize("question", ["🔥🔥", "!!! ???", "<@U123>", "   "])
def test_a_question_without_words_is_refused(
    question: str, sample_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert ask("--model", str(sample_model_dir), question) == 2

    assert "has no words left once emoji, punctuation and markup are removed" in one_line_error(capsys)


def test_answers_from_the_model_publish_wrote_to_s3(
    sample_model_dir: Path, s3_bucket: tuple[Any, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    client, bucket = s3_bucket
    publish(sample_model_dir, f"s3://{bucket}/models", client)
    cache = tmp_path / "cache"

    assert ask("--model", f"s3://{bucket}/models", "--cache-dir", str(cache), "iOS push stopped") == 0

    assert capsys.readouterr().out.splitlines()[1].startswith("  1. MOBILE ")
    assert [path.suffix for path in cache.iterdir()] == [".onnx"]


def test_a_missing_s3_model_keeps_the_uri_intact(
    s3_bucket: tuple[Any, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, bucket = s3_bucket

    assert ask("--model", f"s3://{bucket}/absent", "--cache-dir", str(tmp_path), "who owns refunds?") == 2

    assert one_line_error(capsys) == (
        f"error: no such object: s3://{bucket}/absent/manifest.json; "
        "point --model at the s3://bucket/prefix given to `publish`"
    )


@pytest.mark.parametrize("bucket", ["Bad_Bucket", "ab", "acme..models", "192.168.0.1", "-acme"])
def test_an_invalid_bucket_name_is_one_line(bucket: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert ask("--model", f"s3://{bucket}/models", "who owns refunds?") == 2

    error = one_line_error(capsys)
    assert error.startswith(f"error: bad --model: invalid bucket name {bucket!r} in s3://{bucket}/models;")
    assert "regex" not in error


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("{tmp}/absent", "--model {tmp}/absent does not exist"),
        ("{tmp}/file", "--model {tmp}/file is a file; point it at the folder written by `train`"),
        ("{tmp}", "{tmp}/manifest.json: not found"),
        ("https://models.example/m", "only a folder or s3://bucket/prefix is supported"),
        ("s3:///models", "bad --model: no bucket in S3 URI"),
    ],
)
def test_a_wrong_model_location_says_what_it_is(
    model: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "file").write_text("not a folder")

    assert ask("--model", model.format(tmp=tmp_path), "who owns refunds?") == 2

    assert message.format(tmp=tmp_path) in one_line_error(capsys)


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        (["--top", "0"], "argument --top: must be at least 1, got 0"),
        (["--threshold", "1.5"], "argument --threshold: must be from 0 to 1, got 1.5"),
    ],
)
def test_bad_numbers_are_one_line(
    flag: list[str], message: str, sample_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert ask("--model", str(sample_model_dir), *flag, "who owns refunds?") == 2

    assert message in one_line_error(capsys)


def test_never_imports_scikit_learn(sample_model_dir: Path) -> None:
    code = (
        "import sys; from export.__main__ import main; "
        f"main(['ask', '--model', {str(sample_model_dir)!r}, 'who owns login?']); "
        "assert not any(m.split('.')[0] in ('sklearn', 'scipy', 'skl2onnx') for m in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=Path.cwd(), check=False
    )
    assert result.returncode == 0, result.stderr
