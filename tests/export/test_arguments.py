"""Argument checks that must fail in the first second, with one line, before any expensive work."""

from __future__ import annotations

import argparse
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest

from export.arguments import (
    CommandLineParser,
    at_least,
    fraction,
    input_file,
    number_between,
    output_file,
    output_folder,
)
from export.errors import UserError


@pytest.mark.parametrize("text", ["0", "1", "1.5", "-0.2", "nan"])
def test_fraction_refuses_what_is_not_strictly_between_0_and_1(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=r"between 0 and 1 \(both excluded\)"):
        fraction(text)


def test_a_word_is_not_a_number() -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="must be a number, got 'twenty'"):
        fraction("twenty")


@pytest.mark.parametrize(
    ("check", "inside", "outside", "message"),
    [
        (number_between(0, 1), ["0", "1", "0.5"], ["-0.1", "1.01"], "must be from 0 to 1"),
        (
            number_between(0, 100, low_open=True),
            ["100", "0.01"],
            ["0", "101"],
            "must be above 0 and at most 100",
        ),
        (number_between(0, 1, hint="0.01 is one point"), ["0.01"], ["2"], "(0.01 is one point)"),
    ],
)
def test_number_between_says_its_range(
    check: Any, inside: list[str], outside: list[str], message: str
) -> None:
    assert [check(text) for text in inside] == [float(text) for text in inside]
    for text in outside:
        with pytest.raises(argparse.ArgumentTypeError, match=re.escape(message)):
            check(text)


def test_fraction_accepts_a_share() -> None:
    assert fraction("0.25") == 0.25


@pytest.mark.parametrize(
    ("text", "message"), [("0", "at least 1, got 0"), ("-3", "at least 1"), ("x", "whole")]
)
def test_at_least(text: str, message: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        at_least(1)(text)
    assert at_least(1)("4") == 4


def test_parser_errors_are_one_line_user_errors() -> None:
    parser = CommandLineParser(prog="python -m export train")
    parser.add_argument("--top", type=at_least(1))

    with pytest.raises(UserError) as raised:
        parser.parse_args(["--top", "0"])

    assert str(raised.value) == (
        "argument --top: must be at least 1, got 0 (see python -m export train --help)"
    )


def test_input_file_names_a_directory_as_such(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="is a directory, not a tickets CSV"):
        input_file(tmp_path, "a tickets CSV")
    with pytest.raises(UserError, match="does not exist"):
        input_file(tmp_path / "absent.csv", "a tickets CSV")


def test_output_folder_that_is_a_file_or_inside_one(tmp_path: Path) -> None:
    blocker = tmp_path / "model"
    blocker.write_text("a file")

    with pytest.raises(UserError, match=r"is a file, not a folder"):
        output_folder(blocker)
    with pytest.raises(UserError, match=r"is inside a file \(.*model\)"):
        output_folder(blocker / "deeper" / "out")


def _unwritable_folder(tmp_path: Path) -> Path:
    """A folder this process cannot write in: read-only for others, /sys for root (who ignores modes)."""
    candidates = [Path("/sys")] if os.geteuid() == 0 else []
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    candidates.append(locked)
    for folder in candidates:
        try:
            with tempfile.TemporaryFile(dir=folder):
                pass
        except OSError:
            return folder
    pytest.skip("no folder here refuses writes to this user")


def test_output_folder_that_cannot_be_written(tmp_path: Path) -> None:
    folder = _unwritable_folder(tmp_path)

    with pytest.raises(UserError, match=r"cannot write in"):
        output_folder(folder / "model")


def test_output_folder_accepts_a_new_nested_folder_and_creates_nothing(tmp_path: Path) -> None:
    assert output_folder(tmp_path / "a" / "b") == tmp_path / "a" / "b"
    assert list(tmp_path.iterdir()) == []


def test_output_file_that_is_a_directory(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="is a directory; give the path of the file"):
        output_file(tmp_path)
