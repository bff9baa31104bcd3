"""What a person needs to point a real Slack app at `make local`: the request URLs, the settings to
set and where Slack shows them, and which of them are missing now, said once at start-up instead of
in a log line per refused request."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from chalicelib.config import ConfigError, parse_settings
from chalicelib.slack.render import MISCONFIGURED_TEXT

ROUTES = (
    ("Slash command /whoknows", "/slack/commands"),
    ("Event subscriptions", "/slack/events"),
    ("Interactivity & shortcuts", "/slack/interactions"),
)
SECRETS = (
    ("SLACK_SIGNING_SECRET", "Basic Information → App Credentials → Signing Secret"),
    ("SLACK_BOT_TOKEN", "OAuth & Permissions → Bot User OAuth Token (xoxb-…)"),
)
MANIFEST_TEMPLATE = Path(__file__).resolve().parents[1] / "deploy" / "slack-app-manifest.template.json"
_MANIFEST_URLS = ("SLACK_COMMANDS_URL", "SLACK_EVENTS_URL", "SLACK_INTERACTIONS_URL")


def problems(env: Mapping[str, str]) -> list[str]:
    """Every setting the bot would refuse, as the bot itself words it (its own validation)."""
    try:
        parse_settings(env, fetch_parameter=lambda name: "")
    except ConfigError as error:
        return error.problems
    return []


def write_manifest(public_url: str, target: Path) -> Path:
    """The deploy's Slack app manifest, with the tunnel's request URLs filled in."""
    text = MANIFEST_TEMPLATE.read_text(encoding="utf-8")
    for name, (_, path) in zip(_MANIFEST_URLS, ROUTES, strict=True):
        text = text.replace("${" + name + "}", public_url.rstrip("/") + path)
    json.loads(text)  # the template must stay valid JSON once filled
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target


def setup_text(
    env: Mapping[str, str], local_url: str, port: int, public_url: str | None, manifest: Path | None
) -> str:
    """The start-up printout: where it listens, how to reach it from Slack, what is still missing."""
    base = public_url.rstrip("/") if public_url else "https://<your-tunnel>"
    lines = [
        f"whoknows is listening on {local_url} (chalice local, DISPATCH_MODE={env.get('DISPATCH_MODE')}, "
        f"MODEL_URI={env.get('MODEL_URI')})",
        "",
        "To point a Slack app at it:",
        f"  1. expose the port over https, e.g. `ngrok http {port}` or "
        f"`cloudflared tunnel --url http://127.0.0.1:{port}`"
        + ("" if public_url else ", then restart with PUBLIC_URL=<its https URL> for the full URLs"),
        "  2. at https://api.slack.com/apps set the app's request URLs"
        + (f" (or create it from {manifest})" if manifest else "")
        + ":",
    ]
    width = max(len(label) for label, _ in ROUTES)
    lines += [f"       {label:<{width}}  {base}{path}" for label, path in ROUTES]
    lines.append("  3. set these in the shell that runs `make local` (never in a file in the repo):")
    width = max(len(name) for name, _ in SECRETS)
    for name, where in SECRETS:
        given = env.get(name) or env.get(f"{name}_PARAM")
        lines.append(f"       {name:<{width}}  {'set    ' if given else 'MISSING'}  {where}")
    missing = problems(env)
    if missing:
        lines += [
            "",
            f"Not ready: until these are fixed, every Slack request is answered “{MISCONFIGURED_TEXT}”",
        ]
        lines += [f"  - {problem}" for problem in missing]
    lines += ["", "Stop with Ctrl-C."]
    return "\n".join(lines)
