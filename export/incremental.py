"""`retrain`'s collection: only what changed in Jira since the last run, merged into the tickets so far.

The state file remembers the query and when the last successful collection started. The next run
adds `updated >= "<that time minus a day>"` to the JQL: `updated`, not `created`, because a ticket
often gets its team (component, team field) when it is resolved, long after it was created, and a
re-labelled ticket must replace its earlier version. The day of overlap covers the JQL date being
read in the Jira account's time zone (up to 14 hours from UTC) and clock skew; tickets fetched twice
are merged by key, the newer version winning. A changed query (site, JQL, team field) starts over
with a full collection, since the tickets so far answer another question. An interrupted collection
resumes from `export collect`'s checkpoint when the next run repeats the same query.
"""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from export.errors import UserError
from export.jira import default_flavor
from export.retrain_config import Collect
from export.tickets import Ticket, read_tickets_with_report, write_tickets

TICKETS_NAME = "tickets.csv"
STATE_NAME = "collect-state.json"
OVERLAP = timedelta(days=1)
_ORDER_BY = re.compile(r"(?:^|\s+)ORDER\s+BY\s+.*$", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class Collected:
    tickets: Path
    line: str
    """What the operator reads: how many tickets came in and how many there are now."""


def since_clause(jql: str, since: datetime) -> str:
    """`jql` restricted to issues updated since `since` (UTC, to the minute), its ORDER BY kept."""
    order = _ORDER_BY.search(jql)
    query = jql[: order.start()] if order else jql
    ordering = order.group(0).strip() if order else "ORDER BY created ASC"
    clause = f'updated >= "{since.astimezone(UTC):%Y-%m-%d %H:%M}"'
    return f"({query.strip()}) AND {clause} {ordering}" if query.strip() else f"{clause} {ordering}"


def collect(config: Collect, work_dir: Path, now: datetime | None = None) -> Collected:
    """Collects into work_dir/tickets.csv: incrementally when the last run's query was this one."""
    from export.collect import collect_rest

    started = now or datetime.now(UTC)
    work_dir.mkdir(parents=True, exist_ok=True)
    tickets_path, state_path = work_dir / TICKETS_NAME, work_dir / STATE_NAME
    query = {
        "base_url": config.base_url,
        "jql": config.jql,
        "team_field": config.team_field,
        "flavor": config.flavor or default_flavor(config.base_url),
    }
    last = _last_start(state_path, query) if tickets_path.is_file() else None
    since = last - OVERLAP if last else None
    args = argparse.Namespace(
        base_url=config.base_url,
        jql=since_clause(config.jql, since) if since else config.jql,
        flavor=query["flavor"],
        team_field=config.team_field,
        page_size=config.page_size,
        retries=5,
        out=work_dir / "collect.csv",
    )
    fetched, skipped, checkpoint = collect_rest(args)
    earlier = read_tickets_with_report(tickets_path)[0] if since else []
    merged: dict[str, Ticket] = {ticket.key: ticket for ticket in earlier}
    replaced = sum(ticket.key in merged for ticket in {t.key: t for t in fetched}.values())
    merged.update((ticket.key, ticket) for ticket in fetched)
    if not merged:
        checkpoint.remove()
        left_out = ", ".join(f"{n} {reason}" for reason, n in skipped.items()) or "none"
        raise UserError(
            f"no usable tickets from {config.base_url} (left out: {left_out}); "
            "check [collect] jql and team_field"
        )
    write_tickets(tickets_path, merged.values())
    checkpoint.remove()
    _save_state(state_path, query, started)
    unique = len({ticket.key for ticket in fetched})
    if since:
        line = (
            f"collect: {unique} tickets new or updated since {since:%Y-%m-%d %H:%M} UTC "
            f"({replaced} replacing earlier versions); {len(merged)} tickets in {tickets_path}"
        )
    else:
        line = f"collect: {len(merged)} tickets (a full collection) in {tickets_path}"
    return Collected(tickets_path, line)


def _last_start(path: Path, query: dict[str, Any]) -> datetime | None:
    """When the last collection of this same query started; None: collect everything."""
    try:
        state = json.loads(path.read_text())
        if state.get("query") != query:
            return None
        return datetime.fromisoformat(state["started"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _save_state(path: Path, query: dict[str, Any], started: datetime) -> None:
    temporary = path.with_name(path.name + ".part")
    temporary.write_text(
        json.dumps({"query": query, "started": started.isoformat(timespec="seconds")}) + "\n"
    )
    temporary.replace(path)
