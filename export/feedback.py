"""`python -m export feedback pull|report`: what users said about the answers, out of the bot's store
and into figures.

    python -m export feedback pull whoknows-prod-feedback --out feedback.csv
    python -m export feedback report feedback.csv --out report.png

`pull` exports every record of the feedback table (the stack's FeedbackTableName output) to a CSV
(columns: export/feedback_csv.py); `report` prints live precision per suggested team and per model
version with their counts, the corrections users made, and writes a PNG of precision by week.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from export.arguments import input_file, output_file
from export.errors import UserError

EPILOG = """\
examples:
  python -m export feedback pull whoknows-prod-feedback --out feedback.csv
  python -m export feedback pull dynamodb://whoknows-dev-feedback --out feedback.csv --region eu-west-1
  python -m export feedback report feedback.csv --out report.png

Live precision = right ÷ (right + wrong + corrected), over the answers someone judged.
Credentials come from the usual AWS sources (AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) and
need dynamodb:Scan on the table.
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "feedback",
        help="export the bot's feedback and report live precision",
        description="Export what users said about the bot's answers (pull), and report how often "
        "they were right (report).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="feedback_command", metavar="ACTION", required=True)
    pull = actions.add_parser(
        "pull",
        help="export every feedback record to a CSV",
        description="Scan the feedback table and write every record to a CSV, oldest first.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    pull.add_argument("store", metavar="TABLE", help="the feedback table: NAME or dynamodb://NAME")
    pull.add_argument("--out", type=Path, required=True, help="the CSV to write (replaced if it exists)")
    pull.add_argument("--endpoint-url", help="a DynamoDB-compatible endpoint, e.g. http://127.0.0.1:8000")
    pull.add_argument("--region", help="the table's AWS region (default: AWS_REGION / your profile's)")
    pull.set_defaults(func=run_pull)
    report = actions.add_parser(
        "report",
        help="print live precision per team and per model version; write a PNG of it by week",
        description="Live precision (right ÷ judged) per suggested team and per model version, with "
        "counts, and a PNG of it by week.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    report.add_argument("csv", metavar="FEEDBACK_CSV", type=Path, help="what `feedback pull` wrote")
    report.add_argument(
        "--out", type=Path, default=None, help="the PNG to write (default: FEEDBACK_CSV with -precision.png)"
    )
    report.set_defaults(func=run_report)


def run_pull(args: argparse.Namespace) -> int:
    from export.feedback_csv import write_rows
    from export.feedback_pull import make_client, scan, table_name

    table = table_name(args.store)
    out = output_file(args.out)
    client = make_client(args.endpoint_url, args.region)
    rows = sorted(scan(client, table), key=lambda row: (row.time, row.question_id, row.user_id))
    count = write_rows(out, rows)
    verdicts = {
        verdict: sum(row.verdict == verdict for row in rows) for verdict in ("right", "wrong", "corrected")
    }
    print(
        f"pulled {count} feedback records ({verdicts['right']} right, {verdicts['wrong']} wrong, "
        f"{verdicts['corrected']} corrected) from {table} into {out}"
    )
    return 0


def run_report(args: argparse.Namespace) -> int:
    from export.feedback_csv import read_rows
    from export.feedback_report import plot_weekly, report_lines

    source = input_file(args.csv, "a feedback CSV")
    out = output_file(args.out or source.with_name(f"{source.stem}-precision.png"))
    result = read_rows(source)
    for line, why in result.skipped[:5]:
        print(f"warning: skipped line {line}: {why}")
    if len(result.skipped) > 5:
        print(f"warning: skipped {len(result.skipped) - 5} more lines")
    if not result.rows:
        raise UserError(
            f"{source} holds no feedback yet: nothing to report (pull again once people have clicked)"
        )
    for line in report_lines(result.rows, str(source)):
        print(line)
    weeks = plot_weekly(result.rows, out)
    print(f"\nwrote {out} (precision by week, {weeks} week{'s' if weeks != 1 else ''})")
    return 0
