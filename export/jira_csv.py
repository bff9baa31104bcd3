"""Tickets from Jira's own "Export → CSV (all fields)" file, for sites where the API is out of reach.

Jira writes one column per value of a multi-valued field, all with the same header (several
"Components" columns), so columns are looked up by name and the first non-empty value wins. Header
spellings differ between Jira versions (`Components` in current Cloud exports, `Component/s` in
older ones and on Server; a team field as `Custom field (Team)` or `Team`), so each field is found
under any of its spellings, ignoring case. Only key, summary and team are required.
"""

from __future__ import annotations

import difflib
import os
from collections import Counter
from dataclasses import dataclass, field

from export.dates import AUTO, read_date_column
from export.errors import UserError
from export.tickets import Ticket, read_csv_table, skip_reason

KEY, SUMMARY, DESCRIPTION, CREATED = ("Issue key",), ("Summary",), ("Description",), ("Created",)
TEAM_FIELDS = {
    "project": ("Project key",),
    "components": ("Components", "Component/s"),
    "component/s": ("Component/s", "Components"),
}
_CUSTOM = "Custom field ("
MAX_LISTED = 12
"""Real exports carry dozens of custom fields; an error line names this many."""
BAD_DATE = "bad date"


@dataclass(frozen=True)
class JiraCsv:
    """What a Jira CSV export held, and what the operator should hear about it."""

    tickets: list[Ticket]
    skipped: Counter[str]
    """Rows left out, by reason ("no team", "empty text", "bad date")."""
    examples: dict[str, list[str]] = field(default_factory=dict)
    """The first few keys per skip reason, so the operator can look them up."""
    notes: list[str] = field(default_factory=list)


def team_spellings(team_field: str) -> tuple[str, ...]:
    """Headers that --team-field may mean, best first: `components` finds Components or Component/s,
    `Team` finds Team or Custom field (Team), and the other way round."""
    known = TEAM_FIELDS.get(team_field.strip().lower())
    if known:
        return known
    name = team_field.strip()
    if name.lower().startswith("customfield_"):
        return (name,)  # an API field id; the error explains what its CSV header looks like
    if name.lower().startswith(_CUSTOM.lower()) and name.endswith(")"):
        return (name, name[len(_CUSTOM) : -1].strip())
    return (name, f"{_CUSTOM}{name})")


def read_jira_csv(
    path: str | os.PathLike[str], team_field: str, date_order: str = AUTO, examples: int = 3
) -> JiraCsv:
    """Tickets from a Jira CSV export; rows without a team, text or a readable date are counted, not fatal.

    team_field: "project" (Project key), "components" (first Components/Component/s value) or a
    column header such as "Custom field (Team)" or "Team". `created` becomes ISO 8601.
    """
    header, rows = read_csv_table(path)
    columns = _Columns(path, header)
    key = columns.require(KEY, "the issue key")
    summary = columns.require(SUMMARY, "the summary")
    team = columns.require(team_spellings(team_field), f"--team-field {team_field!r}", team=True)
    description = columns.find(DESCRIPTION)
    created = columns.find(CREATED)
    dates = read_date_column([_cell(row, created) for row in rows], date_order)
    result = JiraCsv([], Counter())
    if dates.note:
        result.notes.append(f"Created: {dates.note}")
    unreadable = set(dates.unreadable)
    for number, row in enumerate(rows):
        ticket = Ticket(
            key=_cell(row, key).strip() or f"row-{number + 1}",
            summary=_cell(row, summary),
            description=_cell(row, description),
            team=_cell(row, team).strip(),
            created=dates.values[number],
        )
        reason = skip_reason(ticket) or (BAD_DATE if number in unreadable else None)
        if reason:
            result.skipped[reason] += 1
            listed = result.examples.setdefault(reason, [])
            if len(listed) < examples:
                listed.append(ticket.key if reason != BAD_DATE else f"{ticket.key} {_cell(row, created)!r}")
        else:
            result.tickets.append(ticket)
    return result


def _cell(row: list[str], positions: list[int]) -> str:
    return next((row[i] for i in positions if i < len(row) and row[i].strip()), "")


class _Columns:
    """Header positions by name, case and surrounding spaces ignored; repeated headers keep every position."""

    def __init__(self, path: str | os.PathLike[str], header: list[str]) -> None:
        self.path = path
        self.header = [name.strip() for name in header]
        self.positions: dict[str, list[int]] = {}
        for position, name in enumerate(self.header):
            self.positions.setdefault(name.lower(), []).append(position)

    def find(self, spellings: tuple[str, ...]) -> list[int]:
        """Positions of the first spelling present (never two different fields merged); [] if none."""
        return next((self.positions[s.lower()] for s in spellings if s.lower() in self.positions), [])

    def require(self, spellings: tuple[str, ...], what: str, team: bool = False) -> list[int]:
        found = self.find(spellings)
        if found:
            return found
        looked = " or ".join(repr(s) for s in spellings)
        hint = (
            "; --team-field takes project, components or a column header"
            if team
            else "; is this a Jira 'Export → CSV (all fields)' file?"
        )
        if team and spellings[0].lower().startswith("customfield_"):
            hint = (
                f"; {spellings[0]} is an API field id: in a CSV export its column is "
                "'Custom field (<field name>)'"
            )
        raise UserError(f"{self.path} has no column {looked} for {what}; {self._candidates(spellings)}{hint}")

    def _candidates(self, spellings: tuple[str, ...]) -> str:
        """Columns that could be meant: close spellings, then the custom fields."""
        distinct = list(dict.fromkeys(name for name in self.header if name))
        by_lower = {name.lower(): name for name in distinct}
        close: list[str] = []
        for spelling in (s.lower() for s in spellings):
            similar = difflib.get_close_matches(spelling, list(by_lower), n=4, cutoff=0.6)
            similar += [
                name for name in by_lower if len(name) >= 3 and (name in spelling or spelling in name)
            ]
            for match in similar:
                if by_lower[match] not in close:
                    close.append(by_lower[match])
        custom = [name for name in distinct if name.startswith(_CUSTOM) and name not in close]
        listed = (close + custom)[:MAX_LISTED]
        more = len(close) + len(custom) - len(listed)
        if not listed:
            return f"its columns are {', '.join(distinct[:MAX_LISTED]) or 'none'}" + (
                f" and {len(distinct) - MAX_LISTED} more" if len(distinct) > MAX_LISTED else ""
            )
        return f"columns that could be meant: {', '.join(listed)}" + (f" and {more} more" if more else "")
