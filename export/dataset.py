"""Tickets -> normalised texts and a time-ordered train/test split.

The split holds out the *newest* tickets: a bot is always asked about the future, so a random
split (which lets the model see next year's class names) overstates accuracy.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from chalicelib.text import normalize, ticket_text
from export.dates import AUTO, read_date_column
from export.errors import UserError
from export.tickets import read_tickets_with_report

MIN_TEAMS = 2


@dataclass(frozen=True)
class Dataset:
    texts: list[str]  # normalised summary + description
    summaries: list[str]  # normalised summary alone: closest to a short Slack question
    lower_summaries: list[str]  # the summary lower-cased, then normalised: as people type it
    raw_summaries: list[str]  # the summary as written, for question forms and the ticket index
    keys: list[str]
    urls: list[str]  # each ticket's page in Jira, "" when unknown
    identifiers: list[Counter[str]]  # each ticket's camelCase identifiers (chalicelib.model.expand)
    teams: list[str]
    created: list[str]
    dropped_teams: dict[str, int]  # teams below the minimum ticket count, with their counts
    skipped_rows: int
    time_ordered: bool  # False when the file had no usable `created` column
    notes: list[str] = field(default_factory=list)  # what the operator should hear (date order, skips)

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

    def newest(self, indices: Sequence[int], fraction: float) -> tuple[list[int], list[int]]:
        """`indices` (time-ordered, as `split` returns them) as older and newest `fraction`: the
        validation slice that sits between training and the test slice."""
        cut = round(len(indices) * (1 - fraction))
        older, newest = list(indices[:cut]), list(indices[cut:])
        missing = {self.teams[i] for i in indices} - {self.teams[i] for i in older}
        if missing:
            raise UserError(
                f"teams {', '.join(sorted(missing))} have no tickets before the validation slice; "
                "lower --validation-fraction or collect older tickets"
            )
        return older, newest

    def latest(self, indices: Sequence[int], count: int) -> list[int]:
        """The newest `count` of `indices`, oldest first."""
        return sorted(indices, key=lambda i: self.created[i])[-count:] if count else []

    def identifier_counts(self, indices: Sequence[int]) -> Counter[str]:
        """The camelCase identifiers of these tickets (the training ones: no test ticket's leaks)."""
        total: Counter[str] = Counter()
        for i in indices:
            total.update(self.identifiers[i])
        return total


def load_dataset(
    path: Path, min_tickets_per_team: int, progress: bool = True, date_order: str = AUTO
) -> Dataset:
    """Reads, filters and normalises the tickets; teams too small to learn are dropped, loudly.

    A ticket whose `created` cannot be read, or is empty while others have one, is skipped and
    named in the notes: placed anywhere in time it could leak the future into training.
    """
    tickets, report = read_tickets_with_report(path)
    notes: list[str] = []
    dates = read_date_column([t.created for t in tickets], date_order)
    if dates.note:
        notes.append(f"created: {dates.note}")
    if dates.unreadable:
        named = ", ".join(f"{tickets[i].key} {tickets[i].created!r}" for i in dates.unreadable[:3])
        count = len(dates.unreadable)
        notes.append(
            f"skipped {count} ticket{'' if count == 1 else 's'} whose created date cannot be read ({named})"
        )
    unreadable = set(dates.unreadable)
    if any(dates.values):
        undated = [i for i, value in enumerate(dates.values) if not value and i not in unreadable]
        if undated:
            named = ", ".join(tickets[i].key for i in undated[:3])
            plural = "" if len(undated) == 1 else "s"
            notes.append(f"skipped {len(undated)} ticket{plural} without a created date ({named})")
        unreadable.update(undated)
    dated = [(t, dates.values[i]) for i, t in enumerate(tickets) if i not in unreadable]
    counts = Counter(t.team for t, _ in dated)
    _require_two_teams(path, counts, min_tickets_per_team)
    dropped = {team: n for team, n in counts.items() if n < min_tickets_per_team}
    kept = [(t, created) for t, created in dated if t.team not in dropped]
    texts, summaries, lower_summaries = [], [], []
    identifiers: list[Counter[str]] = []
    for ticket, _ in tqdm(kept, desc="normalising", unit="ticket", disable=not progress, leave=False):
        identifiers.append(Counter())
        texts.append(ticket_text(ticket.summary, ticket.description, identifiers[-1]))
        summaries.append(normalize(ticket.summary))
        lower_summaries.append(normalize(ticket.summary.lower()))
    created = [c for _, c in kept] if report.has_created else [""] * len(kept)
    return Dataset(
        texts=texts,
        summaries=summaries,
        lower_summaries=lower_summaries,
        raw_summaries=[t.summary for t, _ in kept],
        keys=[t.key for t, _ in kept],
        urls=[t.url for t, _ in kept],
        identifiers=identifiers,
        teams=[t.team for t, _ in kept],
        created=[f"{c}|{i:09d}" for i, c in enumerate(created)],  # stable: file order breaks ties
        dropped_teams=dropped,
        skipped_rows=report.skipped_empty_text + report.skipped_no_team + len(unreadable),
        time_ordered=report.has_created and any(created),
        notes=notes,
    )


def _require_two_teams(path: Path, counts: Counter[str], min_tickets_per_team: int) -> None:
    """A classifier needs two teams; the advice depends on whether the file has them at all."""
    big_enough = [team for team, n in counts.items() if n >= min_tickets_per_team]
    if len(big_enough) >= MIN_TEAMS:
        return
    detail = ", ".join(f"{team} ({n})" for team, n in counts.most_common())
    if len(counts) < MIN_TEAMS:
        raise UserError(
            f"{path} has tickets for {len(counts)} team{'' if len(counts) == 1 else 's'}"
            f"{f' ({detail})' if detail else ''}; a model needs at least {MIN_TEAMS} teams: "
            "collect tickets from more teams (another project, component or team field)"
        )
    enough = sorted(counts.values(), reverse=True)[MIN_TEAMS - 1]
    raise UserError(
        f"{path}: need at least {MIN_TEAMS} teams with >= {min_tickets_per_team} tickets each; "
        f"found {detail}. Collect more tickets or lower --min-tickets-per-team to {enough} "
        f"(which keeps {sum(n >= enough for n in counts.values())} teams)"
    )
