"""Tickets from Jira's own "Export → CSV (all fields)" file, for sites where the API is out of reach.

Jira writes one column per value of a multi-valued field, all with the same header (several
"Component/s" columns), so columns are looked up by name and the first non-empty value wins.
"""

from __future__ import annotations

import os
from collections import Counter
from datetime import datetime

from export.errors import UserError
from export.tickets import Ticket, read_csv_table, skip_reason

KEY, SUMMARY, DESCRIPTION, CREATED = "Issue key", "Summary", "Description", "Created"
TEAM_COLUMNS = {"project": "Project key", "components": "Component/s"}
# Jira's default CSV date format is dd/MMM/yy h:mm a; sites can change it, hence the alternatives.
CREATED_FORMATS = ("%d/%b/%y %I:%M %p", "%d/%b/%Y %I:%M %p", "%Y-%m-%d %H:%M", "%d.%m.%Y %H:%M")


def read_jira_csv(path: str | os.PathLike[str], team_field: str) -> tuple[list[Ticket], Counter[str]]:
    """Tickets from a Jira CSV export and, by reason, how many rows were skipped.

    team_field: "project" (Project key), "components" (first Component/s) or a column header
    such as "Custom field (Team)". `created` becomes ISO 8601 (local time, as Jira wrote it).
    """
    header, rows = read_csv_table(path)
    columns: dict[str, list[int]] = {}
    for position, name in enumerate(header):
        columns.setdefault(name.strip(), []).append(position)
    team_column = TEAM_COLUMNS.get(team_field, team_field)
    _require(path, columns, [SUMMARY, DESCRIPTION, team_column], team_field)
    tickets: list[Ticket] = []
    skipped = Counter[str]()
    for number, row in enumerate(rows, start=1):
        ticket = _row_ticket(row, columns, team_column, number, path)
        reason = skip_reason(ticket)
        if reason:
            skipped[reason] += 1
        else:
            tickets.append(ticket)
    return tickets, skipped


def _row_ticket(
    row: list[str], columns: dict[str, list[int]], team_column: str, number: int, path: str | os.PathLike[str]
) -> Ticket:
    def cell(name: str) -> str:
        return next((row[i] for i in columns.get(name, []) if i < len(row) and row[i].strip()), "")

    key = cell(KEY).strip() or f"row-{number}"
    return Ticket(
        key=key,
        summary=cell(SUMMARY),
        description=cell(DESCRIPTION),
        team=cell(team_column).strip(),
        created=_iso_created(cell(CREATED).strip(), key, path),
    )


def _require(
    path: str | os.PathLike[str], columns: dict[str, list[int]], needed: list[str], team: str
) -> None:
    missing = [name for name in needed if name not in columns]
    if not missing:
        return
    hint = "; is this a Jira 'Export → CSV (all fields)' file?"
    if missing == [TEAM_COLUMNS.get(team, team)]:
        custom = [name for name in columns if name.startswith("Custom field (")]
        hint = (
            f"; --team-field takes project, components or a column header"
            f" (custom field columns here: {', '.join(custom) or 'none'})"
        )
    raise UserError(f"{path} has no column(s) {', '.join(repr(name) for name in missing)}{hint}")


def _iso_created(value: str, key: str, path: str | os.PathLike[str]) -> str:
    """ISO 8601 so `created` sorts in time order like the API's; a wrong guess would skew the split."""
    if not value:
        return ""
    try:
        return datetime.fromisoformat(value).isoformat()
    except ValueError:
        pass
    for pattern in CREATED_FORMATS:
        try:
            return datetime.strptime(value, pattern).isoformat()
        except ValueError:
            continue
    raise UserError(
        f"{path}: cannot read Created {value!r} of {key}; expected Jira's dd/MMM/yy h:mm a "
        "(e.g. 05/Jun/24 1:20 PM) or ISO 8601 — set that date format in Jira and export again"
    )
