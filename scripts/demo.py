"""`make demo`: the served product on one machine, as Slack would see it.

Trains (or reuses) a model from the embedded synthetic sample, starts `chalice local` on
127.0.0.1 with the worker running in the background, sends a correctly signed `/whoknows`
request, and prints the acknowledgement and then the answer that arrives at a local
`response_url` receiver (the Slack stand-in from the test suite).
"""

from __future__ import annotations

import argparse
import html
import json
import sys
import time
import urllib.parse

from chalicelib.slack.render import render_usage
from export.sample import SAMPLE_TEAMS
from scripts.local_server import REPO, ChaliceLocal
from scripts.sample_model import MODEL_DIR, ensure_model
from tests.support.slack_standin import SlackStandIn

DEMO_SECRET = "demo-signing-secret-not-a-real-one"


def render(payload: dict) -> str:
    """The answer as a person would read it in Slack (the Block Kit sections' text)."""
    lines = []
    for block in payload.get("blocks", []):
        text = block.get("text", {}).get("text") if isinstance(block.get("text"), dict) else None
        if text:
            lines.append(text)
        for element in block.get("elements", []):
            if element.get("type") in ("mrkdwn", "plain_text"):
                lines.append(element["text"])
    return "\n".join(f"    {line}" for text in lines for line in text.splitlines()) or payload.get("text", "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__)
    parser.add_argument(
        "question", nargs="?", default="who can help? our VAT invoices show the wrong refund total"
    )
    args = parser.parse_args(argv)
    if not args.question.strip():
        parser.error(
            'give a question, e.g. make demo, or .venv/bin/python -m scripts.demo "who owns the refund API?"'
        )

    print("1. model:", ensure_model(MODEL_DIR))
    with SlackStandIn() as slack:
        env = {
            "SLACK_SIGNING_SECRET": DEMO_SECRET,
            "SLACK_BOT_TOKEN": "xoxb-demo-token",
            "MODEL_URI": str(MODEL_DIR),
            "MODEL_CACHE_DIR": str(REPO / "out" / "model-cache"),
            "DISPATCH_MODE": "local",
            "TEAM_DIRECTORY": str(SAMPLE_TEAMS),
            "RESPONSE_URL_EXTRA_HOSTS": slack.host,
            "SLACK_API_BASE_URL": slack.api_url,
        }
        with ChaliceLocal(env, DEMO_SECRET) as server:
            print(f"2. chalice local listening on {server.base_url}; Slack stand-in on {slack.base_url}")
            body = urllib.parse.urlencode(
                {
                    "command": "/whoknows",
                    "text": args.question,
                    "user_id": "U0DEMO",
                    "channel_id": "C0DEMO",
                    "team_id": "T0DEMO",
                    "trigger_id": f"demo.{time.time_ns()}",
                    "response_url": slack.response_url("demo"),
                }
            ).encode()
            print(f"3. /whoknows {args.question}")
            started = time.perf_counter()
            status, reply = server.post_signed("/slack/commands", body, "application/x-www-form-urlencoded")
            ack_ms = (time.perf_counter() - started) * 1000
            ack = json.loads(reply).get("text")
            print(f"4. acknowledgement (HTTP {status}, {ack_ms:.0f} ms): {html.unescape(ack or '')}")
            if status != 200:
                return 1
            if ack == render_usage().text:  # "help": the bot answered with its usage, no job follows
                return 0
            try:
                posted = slack.wait_for(1, timeout=30)[0]
            except TimeoutError as error:
                print(f"no answer arrived at the response_url: {error}", file=sys.stderr)
                return 1
            answer_ms = (time.perf_counter() - started) * 1000
            print(f"5. answer posted to the response_url after {answer_ms:.0f} ms:")
            print(render(posted.body))
    return 0


if __name__ == "__main__":
    sys.exit(main())
