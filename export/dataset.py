"""Tickets -> normalised texts and a time-ordered train/test split.

The split holds out the *newest* tickets: a bot is always asked about the future, so a random
split (which lets the model see next year's class names) overstates accuracy.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from tqdm import tqdm

from chalicelib.text import normalize, ticket_text
from export.errors import UserError
from export.tickets import Ticket, read_tickets_with_report

MIN_TEAMS = 2


@dataclass(frozen=True)
class Dataset:
    texts: list[str]  # normalised summary + description
    summaries: list[str]  # normalised summary alone: closest to a short Slack question
    teams: list[str]
    created: list[str]
    dropped_teams: dict[str, int]  # teams below the minimum ticket count, with their counts
    skipped_rows: int
    time_ordered: bool  # False when the file had no usable `created` column

    def __len__(self) -> int:
        return len(self.teams)

    def split(self, test_fraction: float) -> tuple[list[int], list[int]]:
        """Indices of the older (train) and newer (test) tickets; every team keeps training rows."""
        if not 0 < test_fraction < 1:
            raise UserError(f"--test-fraction must be between 0 and 1, got {test_fraction}")
        order = sorted(range(len(self)), key=lambda i: self.created[i])
        cut = round(len(order) * (1 - test_fraction))
        train, test = order[:cut], order[cut:]
        missing = set(self.teams) - {self.teams[i] for i in train}
        if missing:
            raise UserError(
                f"teams {', '.join(sorted(missing))} have tickets only in the newest "
                f"{test_fraction:.0%}; lower --test-fraction or collect older tickets"
            )
        return train, test


def _sort_key(created: str) -> str:
    """ISO timestamps sort as text once parsed and re-printed in UTC; unparsable ones go first."""
    try:
        return datetime.fromisoformat(created.replace("+0000", "+00:00")).isoformat()
    except ValueError:
        return ""


def load_dataset(path: Path, min_tickets_per_team: int, progress: bool = True) -> Dataset:
    """Reads, filters and normalises the tickets; teams too small to learn are dropped, loudly."""
    tickets, report = read_tickets_with_report(path)
    counts = Counter(t.team for t in tickets)
    dropped = {team: n for team, n in counts.items() if n < min_tickets_per_team}
    kept: list[Ticket] = [t for t in tickets if t.team not in dropped]
    if len({t.team for t in kept}) < MIN_TEAMS:
        detail = ", ".join(f"{team} ({n})" for team, n in counts.most_common())
        raise UserError(
            f"{path}: need at least {MIN_TEAMS} teams with >= {min_tickets_per_team} tickets each; "
            f"found {detail or 'none'}. Collect more tickets or lower --min-tickets-per-team"
        )
    texts, summaries = [], []
    for ticket in tqdm(kept, desc="normalising", unit="ticket", disable=not progress, leave=False):
        texts.append(ticket_text(ticket.summary, ticket.description))
        summaries.append(normalize(ticket.summary))
    created = [_sort_key(t.created) for t in kept] if report.has_created else [""] * len(kept)
    return Dataset(
        texts=texts,
        summaries=summaries,
        teams=[t.team for t in kept],
        created=[f"{c}|{i:09d}" for i, c in enumerate(created)],  # stable: file order breaks ties
        dropped_teams=dropped,
        skipped_rows=report.skipped_empty_text + report.skipped_no_team,
        time_ordered=report.has_created and any(created),
    )
