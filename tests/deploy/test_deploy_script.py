"""deploy/deploy.sh can't run here (no AWS account), so its contract with the template is checked:
the Slack URLs it prints and writes into the app manifest come from stack outputs that
deploy/merge-template.json declares, and those outputs point at the routes app.py serves."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import app

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SCRIPT = (DEPLOY / "deploy.sh").read_text()
OUTPUTS = json.loads((DEPLOY / "merge-template.json").read_text())["Outputs"]


def test_the_script_parses() -> None:
    subprocess.run(["bash", "-n", str(DEPLOY / "deploy.sh")], check=True)


def test_every_output_the_script_reads_is_declared() -> None:
    read = re.findall(r"stack_output (\w+)", SCRIPT)
    assert read and set(read) <= set(OUTPUTS)


def test_the_slack_url_outputs_are_the_routes_app_py_serves() -> None:
    routes = {path for path in app.app.routes if path.startswith("/slack/")}
    urls = {name: output["Value"]["Fn::Sub"] for name, output in OUTPUTS.items() if name.startswith("Slack")}
    served = {re.sub(r"^https://\$\{RestAPI\}\.execute-api\.[^/]+/api", "", url) for url in urls.values()}
    assert served == routes and len(urls) == 3


def test_every_manifest_placeholder_is_exported_by_the_script() -> None:
    template = (DEPLOY / "slack-app-manifest.template.json").read_text()
    placeholders = set(re.findall(r"\$\{(SLACK_\w+_URL)\}", template))
    exported = set(re.search(r"^export (SLACK_.*)$", SCRIPT, re.M).group(1).split())  # type: ignore[union-attr]
    assert placeholders and placeholders <= exported
