"""Checks on command-line arguments that run before any expensive work, each failing with one line.

A typo in `--out` or `--test-fraction` must cost the operator a second, not a 70-second fit followed
by a traceback. argparse `type=` validators cover single values; the path checks run first thing
in each command.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from export.errors import UserError


class CommandLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are UserErrors: `error: …` on one line, exit 2."""

    def error(self, message: str) -> NoReturn:
        raise UserError(f"{message} (see {self.prog} --help)")


@dataclass(frozen=True)
class Bounds:
    """A number range with either end open, shared by argparse options and the retrain config so
    both say the same thing about the same setting."""

    low: float
    high: float
    low_open: bool = False
    high_open: bool = False
    hint: str = ""
    """Appended in brackets, e.g. "0.01 is one point"."""

    def admits(self, value: float) -> bool:
        if value != value or value < self.low or value > self.high:
            return False
        return not ((self.low_open and value == self.low) or (self.high_open and value == self.high))

    def __str__(self) -> str:
        if self.low_open and self.high_open:
            text = f"between {self.low:g} and {self.high:g} (both excluded)"
        elif self.low_open:
            text = f"above {self.low:g} and at most {self.high:g}"
        else:
            text = f"from {self.low:g} to {self.high:g}"
        return text + (f" ({self.hint})" if self.hint else "")


def number_between(
    low: float, high: float, *, low_open: bool = False, high_open: bool = False, hint: str = ""
) -> Callable[[str], float]:
    """A number in `Bounds(low, high, …)`, as an argparse type whose message says the range."""
    bounds = Bounds(low, high, low_open, high_open, hint)

    def number(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
        if not bounds.admits(value):
            raise argparse.ArgumentTypeError(f"must be {bounds}, got {text}")
        return value

    number.__name__ = f"number {bounds}"
    return number


fraction = number_between(0, 1, low_open=True, high_open=True)
"""A number strictly between 0 and 1, e.g. the share of tickets held out."""
probability = number_between(0, 1)
"""A number from 0 to 1: a confidence, a precision, a drop in one of them."""


def at_least(minimum: int) -> Callable[[str], int]:
    """A whole number >= minimum, as an argparse type."""

    def whole_number(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    whole_number.__name__ = f"whole number >= {minimum}"
    return whole_number


def input_file(path: Path, what: str) -> Path:
    """`path` if it is an existing file; says "a directory" or "does not exist" otherwise."""
    if path.is_dir():
        raise UserError(f"{path} is a directory, not {what}")
    if not path.exists():
        raise UserError(f"{path} does not exist (expected {what})")
    return path


def output_folder(path: Path, option: str = "--out") -> Path:
    """`path` if it is, or can become, a folder we may write in; checked by writing a scratch file.

    Permissions are tested by trying (not os.access), which also catches read-only mounts and
    holds for root.
    """
    if path.exists() and not path.is_dir():
        raise UserError(f"{option} {path} is a file, not a folder; give a folder (it is created if missing)")
    existing = path
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise UserError(f"{option} {path} is inside a file ({existing}), not a folder")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as error:
        raise UserError(f"{option} {path}: cannot write in {existing} ({error.strerror or error})") from None
    return path


def output_file(path: Path, option: str = "--out") -> Path:
    """`path` if a file may be written there: not a directory, in a folder we can write in."""
    if path.is_dir():
        raise UserError(f"{option} {path} is a directory; give the path of the file to write")
    output_folder(path.parent, f"{option} {path}: its folder")
    return path
