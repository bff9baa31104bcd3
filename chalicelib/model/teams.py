"""The team directory: how to reach the team behind each label the model predicts.

The model only knows labels such as "PAYMENTS"; people need a name, a channel and a group to
mention. The directory is a small JSON file published beside the model (`export publish --teams`;
the worker reads it with the model) or named by TEAM_DIRECTORY:

    {"teams": {"PAYMENTS": {"display_name": "Payments", "channel": "#payments-help",
                            "user_group": "S0PAYMENTS1", "description": "Billing and refunds."}}}

Every field except the label is optional. A label the directory lacks still gets an answer (the
bare label), because a prediction without a channel is more useful than none; `problems` reports
such gaps so whoever publishes a model can fix them. Standard library only: deployed to Lambda.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from chalicelib.slack.ids import is_channel, is_user_group

_FIELDS = ("display_name", "channel", "user_group", "description")


class TeamDirectoryError(ValueError):
    """The directory file cannot be used; the message is one line naming the file and the fix."""


@dataclass(frozen=True)
class Team:
    label: str
    display_name: str
    channel: str | None
    user_group: str | None
    description: str | None


class TeamDirectory:
    """Teams by label; immutable so a warm Lambda can share one instance across requests."""

    def __init__(self, teams: Mapping[str, Team]) -> None:
        self.teams: Mapping[str, Team] = MappingProxyType(dict(teams))

    @classmethod
    def empty(cls) -> TeamDirectory:
        """No directory configured: every lookup falls back to the bare label."""
        return cls({})

    @classmethod
    def load(cls, path: Path) -> TeamDirectory:
        """Reads and validates a directory file; raises TeamDirectoryError on any problem."""
        try:
            raw = Path(path).read_bytes()
        except FileNotFoundError:
            raise TeamDirectoryError(f"{path}: team directory file does not exist") from None
        except OSError as error:
            raise TeamDirectoryError(f"{path}: cannot read team directory ({error.strerror})") from None
        return cls.parse(raw, str(path))

    @classmethod
    def parse(cls, raw: bytes, where: str) -> TeamDirectory:
        """Validates a directory's bytes (`where` names them in errors); raises TeamDirectoryError."""
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise TeamDirectoryError(f"{where}: team directory is not UTF-8 text") from None
        try:
            data = json.loads(text, object_pairs_hook=_reject_duplicate_keys)
        except json.JSONDecodeError as error:
            raise TeamDirectoryError(
                f"{where}: invalid JSON at line {error.lineno} column {error.colno}: {error.msg}"
            ) from None
        except _DuplicateKeyError as error:
            raise TeamDirectoryError(f"{where}: key {error.key!r} appears more than once") from None
        return cls(_parse_teams(data, where))

    def lookup(self, label: str) -> Team:
        """The team for a label, or a stand-in named after the label so an answer is never lost."""
        team = self.teams.get(label)
        if team is None:
            return Team(label=label, display_name=label, channel=None, user_group=None, description=None)
        return team

    def problems(self, labels: Iterable[str]) -> list[str]:
        """Mismatches between the directory and a model's labels, for the publisher to fix.

        Both directions matter: a missing entry means answers without a channel; an entry the model
        never predicts usually means a team was renamed in Jira and the directory kept the old name.
        """
        model_labels = set(labels)
        missing = sorted(model_labels - self.teams.keys())
        unused = sorted(self.teams.keys() - model_labels)
        return [
            *(
                f"model label {label!r} has no team directory entry; answers will show the bare label"
                for label in missing
            ),
            *(
                f"team directory entry {label!r} is not a label the model predicts; is it renamed?"
                for label in unused
            ),
        ]


class _DuplicateKeyError(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """json silently keeps the last of two equal keys, which would hide a copy-paste mistake."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKeyError(key)
        result[key] = value
    return result


def _parse_teams(data: Any, path: str) -> dict[str, Team]:
    shape = (
        '{"teams": {"LABEL": {"display_name": ..., "channel": ..., "user_group": ..., "description": ...}}}'
    )
    if not isinstance(data, dict) or not isinstance(data.get("teams"), dict):
        raise TeamDirectoryError(f"{path}: expected a JSON object shaped like {shape}")
    teams: dict[str, Team] = {}
    for label, entry in data["teams"].items():
        if not label.strip() or label != label.strip():
            raise TeamDirectoryError(
                f"{path}: team label {label!r} must be non-empty without surrounding spaces"
            )
        teams[label] = _parse_team(label, entry, path)
    return teams


def _parse_team(label: str, entry: Any, path: str) -> Team:
    where = f"{path}: team {label!r}"
    if not isinstance(entry, dict):
        raise TeamDirectoryError(f"{where} must be an object with fields {', '.join(_FIELDS)}")
    unknown = sorted(set(entry) - set(_FIELDS))
    if unknown:
        raise TeamDirectoryError(
            f"{where} has unknown field(s) {', '.join(unknown)}; allowed: {', '.join(_FIELDS)}"
        )
    for name in _FIELDS:
        value = entry.get(name)
        if value is not None and not isinstance(value, str):
            raise TeamDirectoryError(f"{where}: {name} must be a string or null, got {type(value).__name__}")
    display_name = entry.get("display_name")
    if display_name is not None and not display_name.strip():
        raise TeamDirectoryError(f"{where}: display_name must not be empty (leave it out to use the label)")
    channel = entry.get("channel")
    if channel is not None and not is_channel(channel):
        raise TeamDirectoryError(
            f"{where}: channel {channel!r} must be '#name' (lowercase letters, digits, - and _, "
            "at most 80 characters) or a channel id like C0123ABCD"
        )
    user_group = entry.get("user_group")
    if user_group is not None and not is_user_group(user_group):
        raise TeamDirectoryError(
            f"{where}: user_group {user_group!r} must be a Slack user group id: S followed by "
            "uppercase letters and digits, like S0123ABCD"
        )
    description = entry.get("description")
    return Team(
        label=label,
        display_name=display_name.strip() if display_name is not None else label,
        channel=channel,
        user_group=user_group,
        description=(description.strip() or None) if description is not None else None,
    )
