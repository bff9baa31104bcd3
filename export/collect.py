"""`python -m export collect`: Jira tickets (REST API or a CSV export) to the normalised tickets CSV.

A REST collection can take an hour on a big site, so every page is checkpointed next to the output
and a re-run with the same arguments carries on where the last one stopped. The output CSV only
appears, atomically, once everything is in.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from dataclasses import astuple, dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from export.arguments import at_least, input_file, output_file
from export.dates import AUTO, ORDERS
from export.errors import UserError
from export.jira import (
    CLOUD,
    DEFAULT_PAGE_SIZE,
    SERVER,
    Cursor,
    JiraClient,
    SearchRemoved,
    authorization_from_env,
    default_flavor,
    issue_to_ticket,
    search_fields,
)
from export.jira_csv import BAD_DATE, read_jira_csv
from export.tickets import Ticket, skip_reason, team_counts, write_tickets

DEFAULT_TEAM_FIELD = "project"

EXAMPLES = """\
examples:
  # Jira Cloud (credentials from JIRA_EMAIL and JIRA_API_TOKEN)
  python -m export collect --base-url https://acme.atlassian.net \\
      --jql 'project in (PAY, SRCH) AND resolution is not EMPTY ORDER BY created ASC' \\
      --team-field components --out data/tickets.csv

  # Jira Server / Data Center (personal access token in JIRA_TOKEN), team from a custom field
  python -m export collect --base-url https://jira.acme.internal --flavor server \\
      --jql 'resolved >= -730d ORDER BY created ASC' --team-field customfield_10010 --out data/tickets.csv

  # A Jira "Export → CSV (all fields)" file instead of the API
  python -m export collect --from-csv jira-export.csv --team-field 'Custom field (Team)' \\
      --out data/tickets.csv

An interrupted REST collection resumes when the same command is run again (progress is kept in
OUT.partial.jsonl and removed once OUT is written). Use ORDER BY created so paging is stable.
A Jira Cloud site on its own domain answers the server search API with 410 Gone; collect then
carries on as --flavor cloud by itself and says so.
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "collect",
        help="collect Jira tickets into the tickets CSV that train reads",
        description="Collect tickets from the Jira REST API or a Jira CSV export into a tickets CSV\n"
        "(key, summary, description, team, created) for train.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--base-url", help="Jira site root, e.g. https://acme.atlassian.net")
    source.add_argument("--from-csv", type=Path, metavar="PATH", help="read a Jira CSV export instead")
    parser.add_argument("--jql", help="which issues to collect (required with --base-url)")
    parser.add_argument(
        "--flavor",
        choices=(CLOUD, SERVER),
        help="Jira API flavour (default: cloud for *.atlassian.net, else server)",
    )
    parser.add_argument(
        "--team-field",
        default=DEFAULT_TEAM_FIELD,
        help="where the team is: project (key), components (first one; issues without are skipped), "
        "a field id such as customfield_10010, or with --from-csv a column header "
        f"(default: {DEFAULT_TEAM_FIELD})",
    )
    parser.add_argument(
        "--page-size",
        type=at_least(1),
        default=DEFAULT_PAGE_SIZE,
        help=f"issues per request (default: {DEFAULT_PAGE_SIZE})",
    )
    parser.add_argument(
        "--retries",
        type=at_least(0),
        default=5,
        help="retries on HTTP 429/5xx and network errors (default: 5)",
    )
    parser.add_argument(
        "--date-order",
        choices=ORDERS,
        default=AUTO,
        help="with --from-csv: day/month order of numeric Created dates such as 06-09-2024 "
        "(default: decided from the whole column)",
    )
    parser.add_argument("--out", type=Path, required=True, metavar="PATH", help="tickets CSV to write")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    output_file(args.out)  # before an hour of paging, not after it
    try:
        if args.from_csv:
            export = read_jira_csv(
                input_file(args.from_csv, "a Jira CSV export"), args.team_field, args.date_order
            )
            _finish(args, export.tickets, export.skipped, str(args.from_csv), export.examples, export.notes)
        else:
            _run_rest(args)
    except OSError as error:
        raise UserError(f"cannot use {error.filename or args.out}: {error.strerror or error}") from None
    return 0


def _run_rest(args: argparse.Namespace) -> None:
    tickets, skipped, checkpoint = collect_rest(args)
    try:
        _finish(args, tickets, skipped, source=args.base_url)
    except UserError:
        checkpoint.remove()  # nothing usable was collected; keeping it would only replay this error
        raise
    checkpoint.remove()


def collect_rest(args: argparse.Namespace) -> tuple[list[Ticket], Counter[str], Checkpoint]:
    """The REST collection behind `collect --base-url`, checkpointed beside `args.out`: the same
    arguments again resume it. The caller removes the checkpoint once it has kept the tickets
    (`collect` writes them to `args.out`; `retrain` merges them into its tickets first)."""
    checkpoint = Checkpoint(args.out.with_name(args.out.name + ".partial.jsonl"), _rest_params(args))
    tickets, skipped = _collect_rest(args, checkpoint)
    return tickets, skipped, checkpoint


def _rest_params(args: argparse.Namespace) -> dict[str, Any]:
    """What must match for a checkpoint to be resumed; anything else would mix two collections."""
    if not args.jql:
        raise UserError("--jql is required with --base-url, e.g. --jql 'project = PAY ORDER BY created ASC'")
    return {
        "base_url": args.base_url.rstrip("/"),
        "flavor": args.flavor or default_flavor(args.base_url),
        "jql": args.jql,
        "team_field": args.team_field,
        "page_size": args.page_size,
    }


def _collect_rest(args: argparse.Namespace, checkpoint: Checkpoint) -> tuple[list[Ticket], Counter[str]]:
    progress = checkpoint.load()
    if progress.done:
        return progress.tickets, progress.skipped
    try:
        _fetch(args, checkpoint, progress)
    except SearchRemoved as error:
        if checkpoint.params["flavor"] != SERVER or progress.pages:
            raise
        print(
            f"note: {error.url} answered HTTP 410 Gone, so this is Jira Cloud; carrying on as --flavor cloud "
            "(pass it next time to skip that request)",
            file=sys.stderr,
        )
        checkpoint.restart({**checkpoint.params, "flavor": CLOUD})
        _fetch(args, checkpoint, progress)
    return progress.tickets, progress.skipped


def _fetch(args: argparse.Namespace, checkpoint: Checkpoint, progress: Progress) -> None:
    """Pages from `progress.next` on into the checkpoint, in the flavour the checkpoint records."""
    params = checkpoint.params
    client = JiraClient(
        base_url=params["base_url"],
        flavor=params["flavor"],
        authorization=authorization_from_env(params["flavor"]),
        page_size=params["page_size"],
        max_attempts=args.retries + 1,
        sleep=time.sleep,
    )
    bar = tqdm(desc="collect", unit=" issues", file=sys.stderr, disable=None, initial=progress.fetched)
    try:
        for page in client.pages(params["jql"], search_fields(args.team_field), start=progress.next):
            tickets = [issue_to_ticket(issue, args.team_field, params["base_url"]) for issue in page.issues]
            checkpoint.append(page.next, tickets, progress)
            bar.total = page.total
            bar.update(len(page.issues))
    except UserError as error:
        if progress.pages:
            raise UserError(
                f"{error} ({progress.pages} pages kept in {checkpoint.path}; run the same command again "
                "to resume)"
            ) from None
        raise
    finally:
        bar.close()


def _finish(
    args: argparse.Namespace,
    tickets: list[Ticket],
    skipped: Counter[str],
    source: str,
    examples: dict[str, list[str]] | None = None,
    notes: list[str] | None = None,
) -> None:
    for note in notes or []:
        print(f"note: {note}")
    unique = _drop_duplicates(tickets, skipped)
    summary = _describe(skipped, args.team_field, examples or {})
    if not unique:
        raise UserError(f"no usable tickets from {source} ({summary}); check --jql or --team-field")
    write_tickets(args.out, unique)
    print(f"wrote {len(unique)} tickets from {len(team_counts(unique))} teams to {args.out}; {summary}")


def _drop_duplicates(tickets: list[Ticket], skipped: Counter[str]) -> list[Ticket]:
    """Offset paging can return an issue twice when issues change mid-run; keep the first."""
    seen: set[str] = set()
    unique = []
    for ticket in tickets:
        if ticket.key in seen:
            skipped["duplicate"] += 1
        else:
            seen.add(ticket.key)
            unique.append(ticket)
    return unique


def _describe(skipped: Counter[str], team_field: str, examples: dict[str, list[str]]) -> str:
    labels = {
        "no team": f"without a team in {team_field}",
        "empty text": "with empty summary and description",
        BAD_DATE: "with an unreadable Created date",
        "duplicate": "duplicates",
    }
    parts = []
    for reason, count in skipped.items():
        if count:
            named = examples.get(reason)
            more = ", …" if named and count > len(named) else ""
            parts.append(f"{count} {labels[reason]}" + (f" ({', '.join(named)}{more})" if named else ""))
    return "skipped " + (", ".join(parts) if parts else "none")


@dataclass
class Progress:
    tickets: list[Ticket] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    next: Cursor = None
    done: bool = False
    pages: int = 0
    fetched: int = 0


class Checkpoint:
    """Append-only JSON lines: the run's parameters, then one record per fetched page.

    Each record holds the page's tickets and the cursor of the next page, written and fsynced
    together, so a crash mid-write loses at most that page and never duplicates one.
    """

    def __init__(self, path: Path, params: dict[str, Any]) -> None:
        self.path = path
        self.params = params

    def load(self) -> Progress:
        """Progress from a previous run with the same parameters, or a fresh start.

        A run that switched to Cloud after a 410 recorded flavor "cloud"; the same command (asking
        for server, or for the default) resumes it as Cloud instead of meeting the 410 again.
        """
        records, good_bytes = self._read()
        recorded = records[0].get("params") if records else None
        if recorded == {**self.params, "flavor": CLOUD} and self.params["flavor"] == SERVER:
            self.params = recorded
        if not records or recorded != self.params:
            if records:
                print(f"note: {self.path} is from a different collection; starting over", file=sys.stderr)
            self._write_header()
            return Progress()
        os.truncate(self.path, good_bytes)  # drop a half-written last line before appending
        progress = Progress()
        for record in records[1:]:
            self._apply(record, progress)
        if progress.pages:
            print(
                f"resuming from {self.path}: {progress.pages} pages, {progress.fetched} issues",
                file=sys.stderr,
            )
        return progress

    def append(self, following: Cursor, tickets: list[Ticket], progress: Progress) -> None:
        record = {
            "next": following,
            "tickets": [list(astuple(ticket)) for ticket in tickets],
        }
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        self._apply(record, progress)

    def restart(self, params: dict[str, Any]) -> None:
        """Starts over under new parameters (the flavour actually used, after a 410)."""
        self.params = params
        self._write_header()

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)

    def _read(self) -> tuple[list[dict[str, Any]], int]:
        if not self.path.exists():
            return [], 0
        records, good_bytes = [], 0
        with self.path.open("rb") as handle:
            for line in handle:
                try:
                    if not line.endswith(b"\n"):
                        break
                    records.append(json.loads(line))
                except ValueError:
                    break
                good_bytes += len(line)
        return records, good_bytes

    def _write_header(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps({"params": self.params}) + "\n", encoding="utf-8")

    @staticmethod
    def _apply(record: dict[str, Any], progress: Progress) -> None:
        for fields in record["tickets"]:
            ticket = Ticket(*fields)
            reason = skip_reason(ticket)
            if reason:
                progress.skipped[reason] += 1
            else:
                progress.tickets.append(ticket)
        progress.next = record["next"]
        progress.done = record["next"] is None
        progress.pages += 1
        progress.fetched += len(record["tickets"])
