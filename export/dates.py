"""Ticket dates in every form a Jira export or a spreadsheet re-save gives them, read a column at a time.

Day/month order belongs to the file, not to a row: "06-09-2024" alone could be either, but a column
that also holds "13-09-2024" is day-first. So a whole column is read at once, the order decided from
every row, and the decision reported, so the operator can see (and override) what was assumed.

Accepted (see the README's export section):
- Jira's own forms: `05/Jun/24 1:20 PM` (default `dd/MMM/yy h:mm a`), `22/Oct/21 16:55`
  (issues.apache.org's 24-hour form), four-digit years, `Jun 5, 2024 1:20 PM`;
- ISO 8601 with or without seconds, fraction and zone: `2024-09-06 13:55`, `2024-09-06T13:55:00Z`,
  `2024-09-06T13:55:00.000+0000` (what the REST API returns);
- numeric re-saves: `06-09-2024 13:55`, `06/09/2024 1:55 PM`, `06.09.24`, `2024/09/06 13:55`.
Times are optional. Zoned times become UTC; the others stay as written (the exporter's local time).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

AUTO, DAY_FIRST, MONTH_FIRST = "auto", "day-first", "month-first"
ORDERS = (AUTO, DAY_FIRST, MONTH_FIRST)

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
_TIME = (
    r"(?:[ T,]+(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:[.,]\d+)?)?"
    r"\s*(?P<ampm>[AaPp]\.?[Mm]\.?)?)?"
)
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ].*)?")
_DAY_MONTH_NAME = re.compile(
    rf"(?P<day>\d{{1,2}})[-/ .](?P<month>[A-Za-z]{{3,9}})\.?[-/ .](?P<year>\d{{2}}|\d{{4}}){_TIME}"
)
_MONTH_NAME_DAY = re.compile(rf"(?P<month>[A-Za-z]{{3,9}})\.? (?P<day>\d{{1,2}}),? (?P<year>\d{{4}}){_TIME}")
_NUMERIC = re.compile(
    rf"(?P<first>\d{{1,4}})(?P<sep>[-/.])(?P<second_>\d{{1,2}})(?P=sep)(?P<third>\d{{2}}|\d{{4}}){_TIME}"
)


@dataclass(frozen=True)
class DateColumn:
    """One column's dates as ISO 8601 text, row by row ("" where empty or unreadable)."""

    values: list[str]
    unreadable: list[int]
    """Rows whose non-empty value could not be read as a date."""
    note: str | None
    """Which day/month order numeric dates were read in, and why; None when there were none."""


@dataclass(frozen=True)
class _Numeric:
    """A date whose day and month may be either way round until the column decides."""

    first: int
    second: int
    year: int
    time: tuple[int, int, int]
    text: str


def read_date_column(raw: Sequence[str], order: str = AUTO) -> DateColumn:
    """Reads every value; numeric dates in the order `order` names, or the one the column shows."""
    if order not in ORDERS:
        raise ValueError(f"order must be one of {', '.join(ORDERS)}")
    parsed: list[str | _Numeric | None] = [_parse(value.strip()) if value.strip() else "" for value in raw]
    numeric = [item for item in parsed if isinstance(item, _Numeric)]
    chosen, note = _decide(numeric, order) if numeric else (DAY_FIRST, None)
    values: list[str] = []
    unreadable: list[int] = []
    for row, item in enumerate(parsed):
        if isinstance(item, _Numeric):
            item = _numeric_iso(item, chosen)
        if item is None:
            unreadable.append(row)
            item = ""
        values.append(item)
    return DateColumn(values, unreadable, note)


def _parse(text: str) -> str | _Numeric | None:
    """ISO text for an unambiguous date, a _Numeric for the column to settle, None if unreadable."""
    if _ISO.fullmatch(text):
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            pass  # e.g. "2024-09-06 1:55 PM": the numeric reader below takes it
        else:
            return moment.astimezone(UTC).isoformat() if moment.tzinfo else moment.isoformat()
    for pattern in (_DAY_MONTH_NAME, _MONTH_NAME_DAY):
        match = pattern.fullmatch(text)
        if match:
            month = _MONTHS.get(match["month"].lower())
            time = _time(match)
            if month is None or time is None:
                return None
            return _iso(_year(match["year"]), month, int(match["day"]), time)
    match = _NUMERIC.fullmatch(text)
    if not match:
        return None
    time = _time(match)
    if time is None:
        return None
    first, second, third = match["first"], int(match["second_"]), match["third"]
    if len(first) == 4:  # year first is always year-month-day
        return _iso(int(first), second, int(third), time)
    if len(first) == 3:
        return None
    return _Numeric(int(first), second, _year(third), time, text)


def _decide(dates: list[_Numeric], order: str) -> tuple[str, str]:
    """The day/month order for the column and a sentence saying why."""
    only_day = [d for d in dates if _valid(d, DAY_FIRST) and not _valid(d, MONTH_FIRST)]
    only_month = [d for d in dates if _valid(d, MONTH_FIRST) and not _valid(d, DAY_FIRST)]
    if order != AUTO:
        return order, f"numeric dates read {_describe(order)} as --date-order says"
    if only_day and not only_month:
        return DAY_FIRST, (
            f"numeric dates read {_describe(DAY_FIRST)}: the column has {len(only_day)} like "
            f"{only_day[0].text!r} whose first number is above 12"
        )
    if only_month and not only_day:
        return MONTH_FIRST, (
            f"numeric dates read {_describe(MONTH_FIRST)}: the column has {len(only_month)} like "
            f"{only_month[0].text!r} whose second number is above 12"
        )
    if only_day and only_month:
        chosen = DAY_FIRST if len(only_day) >= len(only_month) else MONTH_FIRST
        return chosen, (
            f"numeric dates are mixed ({len(only_day)} only make sense day-first, {len(only_month)} only "
            f"month-first); read {_describe(chosen)}, the others are skipped"
        )
    return DAY_FIRST, (
        f"numeric dates read {_describe(DAY_FIRST)} (Jira's own order): no day in the column is above 12, "
        "so the order cannot be told; pass --date-order month-first if the file is mm/dd"
    )


def _describe(order: str) -> str:
    return "day-first (dd/mm/yyyy)" if order == DAY_FIRST else "month-first (mm/dd/yyyy)"


def _valid(date: _Numeric, order: str) -> bool:
    return _numeric_iso(date, order) is not None


def _numeric_iso(date: _Numeric, order: str) -> str | None:
    day, month = (date.first, date.second) if order == DAY_FIRST else (date.second, date.first)
    return _iso(date.year, month, day, date.time)


def _iso(year: int, month: int, day: int, time: tuple[int, int, int]) -> str | None:
    try:
        return datetime(year, month, day, *time).isoformat()
    except ValueError:
        return None


def _year(text: str) -> int:
    """Two-digit years as strptime's %y reads them (69-99 -> 19xx, 00-68 -> 20xx)."""
    year = int(text)
    if len(text) == 2:
        year += 1900 if year >= 69 else 2000
    return year


def _time(match: re.Match[str]) -> tuple[int, int, int] | None:
    """(hour, minute, second) from a match's time groups; None when out of range."""
    if match["hour"] is None:
        return (0, 0, 0)
    hour, minute, second = int(match["hour"]), int(match["minute"]), int(match["second"] or 0)
    ampm = (match["ampm"] or "").replace(".", "").lower()
    if ampm:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    if hour > 23 or minute > 59 or second > 59:
        return None
    return (hour, minute, second)
