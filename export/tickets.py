"""The normalised tickets CSV: the one file `collect` writes and `train` reads.

Columns: key, summary, description, team, created (extra columns are ignored on read); only
summary and team are required, so a file without descriptions trains on summaries alone.
`created` is ISO 8601 text as Jira's REST API gives it (e.g. 2004-06-05T01:20:20.000+0000) or ""
when unknown (train also reads the other forms export.dates accepts); it exists so training can
hold out the newest tickets instead of a random sample.
Text is kept raw (Jira wiki markup included): cleaning belongs to chalicelib.text, shared with
serving.
"""

from __future__ import annotations

import csv
import difflib
import io
import logging
import os
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import astuple, dataclass, fields
from pathlib import Path

from export.errors import UserError

log = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("summary", "team")
OPTIONAL_COLUMNS = ("key", "description", "created", "url")


@dataclass(frozen=True)
class Ticket:
    key: str
    summary: str
    description: str
    team: str
    created: str
    url: str = ""
    """Where the ticket is in Jira (collect records it from the site's address); "" if unknown."""


COLUMNS = tuple(field.name for field in fields(Ticket))


@dataclass(frozen=True)
class ReadReport:
    """What read_tickets left out or could not provide, so callers can tell the operator."""

    rows: int
    skipped_empty_text: int
    skipped_no_team: int
    has_key: bool
    has_created: bool
    has_description: bool


def read_tickets(path: str | os.PathLike[str]) -> list[Ticket]:
    """Read a tickets CSV, logging rows it had to skip; see read_tickets_with_report."""
    tickets, report = read_tickets_with_report(path)
    if report.skipped_empty_text or report.skipped_no_team:
        log.warning(
            "%s: skipped %d rows with empty summary and description, %d rows without a team",
            path,
            report.skipped_empty_text,
            report.skipped_no_team,
        )
    return tickets


def read_tickets_with_report(path: str | os.PathLike[str]) -> tuple[list[Ticket], ReadReport]:
    """Read and validate a tickets CSV.

    Rows with neither summary nor description, or without a team, carry nothing to learn from and
    are skipped (counted in the report). Without a `created` column every ticket gets created=""
    and file order stands in for time order; without `key`, keys are "row-<n>"; without
    `description`, descriptions are "".
    Raises UserError for a missing/empty/undecodable file or missing required columns.
    """
    header, rows = read_csv_table(path)
    index = {name.strip().lower(): position for position, name in reversed(list(enumerate(header)))}
    missing = [name for name in REQUIRED_COLUMNS if name not in index]
    if missing:
        raise _missing_columns(path, missing, header)
    tickets: list[Ticket] = []
    skipped = Counter[str]()
    for number, row in enumerate(rows, start=1):
        ticket = _row_ticket(row, index, number)
        reason = skip_reason(ticket)
        if reason:
            skipped[reason] += 1
        else:
            tickets.append(ticket)
    report = ReadReport(
        rows=len(rows),
        skipped_empty_text=skipped["empty text"],
        skipped_no_team=skipped["no team"],
        has_key="key" in index,
        has_created="created" in index,
        has_description="description" in index,
    )
    return tickets, report


def _row_ticket(row: list[str], index: dict[str, int], number: int) -> Ticket:
    def cell(name: str) -> str:
        position = index.get(name)
        return row[position] if position is not None and position < len(row) else ""

    return Ticket(
        key=cell("key").strip() or f"row-{number}",
        summary=cell("summary"),
        description=cell("description"),
        team=cell("team").strip(),
        created=cell("created").strip(),
        url=cell("url").strip(),
    )


def _missing_columns(path: str | os.PathLike[str], missing: list[str], header: list[str]) -> UserError:
    """Names what is missing, what in the header could be meant, and where a Jira export goes instead."""
    names = list(dict.fromkeys(name.strip() for name in header if name.strip()))
    lowered = {name.lower(): name for name in names}
    close = [
        lowered[match]
        for name in missing
        for match in difflib.get_close_matches(name, list(lowered), n=3, cutoff=0.6)
    ]
    could_be = f"columns that could be meant: {', '.join(close)}" if close else f"found {len(names)} others"
    jira = (
        "; a Jira CSV export goes through `python -m export collect --from-csv FILE --team-field …` first"
        if "issue key" in lowered
        else ""
    )
    return UserError(
        f"{path} has no {' or '.join(repr(name) for name in missing)} column ({could_be}); "
        f"expected a header with {', '.join(REQUIRED_COLUMNS)} and optionally {', '.join(OPTIONAL_COLUMNS)}"
        f"{jira}"
    )


def skip_reason(ticket: Ticket) -> str | None:
    """Why a ticket is useless for training, or None; shared so every source skips alike."""
    if not ticket.team:
        return "no team"
    if not ticket.summary.strip() and not ticket.description.strip():
        return "empty text"
    return None


def write_tickets(path: str | os.PathLike[str], tickets: Iterable[Ticket]) -> int:
    """Write tickets as RFC 4180 CSV, atomically, so a crash never leaves a half file; returns rows."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(COLUMNS)
            count = 0
            for ticket in tickets:
                writer.writerow(astuple(ticket))
                count += 1
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return count


def team_counts(tickets: Iterable[Ticket]) -> Counter[str]:
    """Tickets per team; `.most_common()` gives them largest first."""
    return Counter(ticket.team for ticket in tickets)


def read_csv_table(path: str | os.PathLike[str]) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a UTF-8 CSV, with one-line errors for the ways real exports go wrong.

    Shared with the Jira CSV reader. Fields may be huge (1.5 MB log dumps) and contain \\r\\n.
    No silent latin-1 fallback: guessing wrong would garble text the model learns from.
    """
    text = decode_utf8(path)
    if not text.strip():
        raise UserError(f"{path} is empty; expected a CSV with a header row and one ticket per row")
    csv.field_size_limit(sys.maxsize)
    table = list(csv.reader(io.StringIO(text, newline="")))
    header, rows = table[0], [row for row in table[1:] if any(cell.strip() for cell in row)]
    if not rows:
        raise UserError(f"{path} has a header but no rows")
    return header, rows


def decode_utf8(path: str | os.PathLike[str]) -> str:
    """File contents as text; UTF-8 with or without a byte order mark."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise UserError(f"{path} does not exist") from None
    except IsADirectoryError:
        raise UserError(f"{path} is a directory, expected a CSV file") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UserError(f"{path} is UTF-16 (Excel 'Unicode Text'); save or re-export it as CSV UTF-8")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise UserError(
            f"{path} is not UTF-8 (invalid byte 0x{data[error.start]:02x} at byte offset {error.start}); "
            "re-export it as UTF-8, e.g. `iconv -f WINDOWS-1252 -t UTF-8 in.csv > out.csv`"
        ) from None
