"""`export feedback report`: how often the bot's answers were right, as the people who asked say.

Live precision is right ÷ (right + wrong + corrected): of the answers someone judged, the share whose
suggested team was right. It is given per suggested team, per model version and per week (the PNG),
each with its counts, so a figure from three clicks is not read like one from three hundred.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from chalicelib.jobs import UNKNOWN_TEAM
from export.feedback_csv import FeedbackRow

UNVERSIONED = "(unknown)"
"""The version row for feedback on answers that did not record their model's version."""


@dataclass(frozen=True)
class Tally:
    right: int = 0
    wrong: int = 0
    corrected: int = 0

    @property
    def total(self) -> int:
        return self.right + self.wrong + self.corrected

    @property
    def precision(self) -> float:
        return self.right / self.total if self.total else 0.0


def tally(rows: Iterable[FeedbackRow]) -> Tally:
    counts = Counter(row.verdict for row in rows)
    return Tally(counts["right"], counts["wrong"], counts["corrected"])


def by(rows: Sequence[FeedbackRow], key: Callable[[FeedbackRow], str]) -> dict[str, Tally]:
    groups: dict[str, list[FeedbackRow]] = {}
    for row in rows:
        groups.setdefault(key(row), []).append(row)
    return {name: tally(group) for name, group in sorted(groups.items())}


def parse_time(text: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def week_of(moment: datetime) -> date:
    """The Monday (UTC) of the ISO week `moment` falls in."""
    day = moment.astimezone(UTC).date()
    return day - timedelta(days=day.weekday())


def weekly(rows: Sequence[FeedbackRow]) -> dict[date, Tally]:
    """Per week, every week from the first to the last (weeks without feedback count zero)."""
    groups: dict[date, list[FeedbackRow]] = {}
    for row in rows:
        moment = parse_time(row.time)
        if moment is not None:
            groups.setdefault(week_of(moment), []).append(row)
    if not groups:
        return {}
    first, last = min(groups), max(groups)
    weeks = [first + timedelta(weeks=n) for n in range((last - first).days // 7 + 1)]
    return {week: tally(groups.get(week, [])) for week in weeks}


def _table(title: str, tallies: dict[str, Tally], overall: Tally) -> list[str]:
    width = max([len(title), 3, *(len(name) for name in tallies)])
    lines = [f"{title:<{width}}  precision  right  wrong  corrected  total"]
    for name, counts in [*tallies.items(), ("all", overall)]:
        lines.append(
            f"{name:<{width}}  {counts.precision:>9.2f}  {counts.right:>5}  {counts.wrong:>5}"
            f"  {counts.corrected:>9}  {counts.total:>5}"
        )
    return lines


def report_lines(rows: Sequence[FeedbackRow], source: str) -> list[str]:
    """The printed report: the span, per team, per version, the corrections users made."""
    overall = tally(rows)
    times = sorted(moment for row in rows if (moment := parse_time(row.time)) is not None)
    span = f" from {times[0]:%Y-%m-%d} to {times[-1]:%Y-%m-%d}" if times else ""
    lines = [
        f"{source}: {overall.total} verdicts{span} "
        f"({overall.right} right, {overall.wrong} wrong, {overall.corrected} corrected)",
        "live precision = right ÷ (right + wrong + corrected)",
        "",
        *_table("suggested team", by(rows, lambda row: row.suggested_team), overall),
        "",
        *_table("model version", by(rows, lambda row: row.model_version or UNVERSIONED), overall),
    ]
    corrections = Counter(
        (row.suggested_team, "I don't know" if row.corrected_team == UNKNOWN_TEAM else row.corrected_team)
        for row in rows
        if row.verdict == "corrected"
    )
    if corrections:
        lines += ["", "corrections (suggested → chosen by the user)"]
        lines += [f"  {wrong} → {right}: {count}" for (wrong, right), count in corrections.most_common(10)]
        if len(corrections) > 10:
            lines.append(f"  … and {len(corrections) - 10} more pairs")
    return lines


def plot_weekly(rows: Sequence[FeedbackRow], out: Path) -> int:
    """Writes the weekly precision (line) and verdict counts (bars) as a PNG; returns the weeks."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.dates import DateFormatter
    from matplotlib.ticker import MaxNLocator

    weeks = weekly(rows)
    judged = {week: counts for week, counts in weeks.items() if counts.total}
    figure, precision_axis = plt.subplots(figsize=(9, 4.5), dpi=100)
    count_axis = precision_axis.twinx()
    count_axis.bar(list(weeks), [counts.total for counts in weeks.values()], width=5, color="#d9e2ef")
    count_axis.set_ylabel("verdicts per week")
    count_axis.yaxis.set_major_locator(MaxNLocator(integer=True))
    precision_axis.set_zorder(count_axis.get_zorder() + 1)
    precision_axis.patch.set_visible(False)
    precision_axis.plot(
        list(judged), [counts.precision for counts in judged.values()], marker="o", color="#1f5fa8"
    )
    precision_axis.set_ylim(0, 1.05)
    precision_axis.set_ylabel("live precision (right ÷ judged)")
    precision_axis.set_xlabel("week (starting Monday, UTC)")
    precision_axis.set_title("whoknows: live precision by week")
    precision_axis.grid(axis="y", alpha=0.3)
    step = max(1, len(weeks) // 12)  # at most a dozen labels, each on a week's Monday
    precision_axis.set_xticks(list(weeks)[::step])
    precision_axis.xaxis.set_major_formatter(DateFormatter("%Y-%m-%d"))
    figure.autofmt_xdate()
    figure.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, format="png")
    plt.close(figure)
    return len(weeks)
