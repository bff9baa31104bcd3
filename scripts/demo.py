"""`make demo`: the served product on one machine, as Slack would see it.

Trains (or reuses) a model from the embedded synthetic sample, starts `chalice local` on
127.0.0.1 with the worker running in the background, sends a correctly signed `/whoknows`
request, and prints the acknowledgement and then the answer that arrives at a local
`response_url` receiver (the Slack stand-in from the test suite).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.parse
from pathlib import Path

from chalicelib.model.manifest import ManifestError, parse_manifest
from chalicelib.text import NORMALIZER_VERSION
from export.sample import SAMPLE_TEAMS, SAMPLE_TICKETS
from scripts.local_server import REPO, ChaliceLocal
from tests.support.slack_standin import SlackStandIn

DEMO_SECRET = "demo-signing-secret-not-a-real-one"
MODEL_DIR = REPO / "out" / "sample-model"


def _export_code_changed_since(path: Path) -> bool:
    """Whether any export/ source is newer than `path` (a model built by older export code)."""
    built = path.stat().st_mtime
    return any(source.stat().st_mtime > built for source in (REPO / "export").rglob("*.py"))


def ensure_model(model_dir: Path) -> str:
    """Reuses a model trained from the current sample by the current export code and normaliser;
    else trains."""
    import hashlib

    sample_sha = hashlib.sha256(SAMPLE_TICKETS.read_bytes()).hexdigest()
    try:
        manifest = parse_manifest((model_dir / "manifest.json").read_bytes())
        if (
            manifest.normalizer_version == NORMALIZER_VERSION
            and manifest.extra["training_data"]["sha256"] == sample_sha
            and (model_dir / manifest.model_path).is_file()
            and not _export_code_changed_since(model_dir / "manifest.json")
        ):
            return f"reusing model {manifest.version} in {model_dir.relative_to(REPO)}"
    except (OSError, ManifestError, KeyError):
        pass
    from export.train import train

    result = train(SAMPLE_TICKETS, model_dir, min_tickets_per_team=5, progress=False)
    metrics = result.metrics
    return (
        f"trained model {result.manifest.version} from {SAMPLE_TICKETS.relative_to(REPO)} "
        f"(synthetic): top-1 {metrics['top1_accuracy']:.2f}, parity "
        f"{result.manifest.extra['parity']['label_agreement']:.0%}"
    )


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
            print(f"4. acknowledgement (HTTP {status}, {ack_ms:.0f} ms): {json.loads(reply).get('text')}")
            if status != 200:
                return 1
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
