"""No secret in the repository, and none in any log line.

(a) Every git-tracked file is scanned for things that look like real credentials: Slack tokens,
AWS access key ids and secret keys, private key blocks, 32-character signing secrets. Known test
values are allowed by name below, with the reason. Values the checks must catch are assembled at
run time, so this file itself never contains one.

(b) Whole flows run in-process with unique, real-looking secrets configured (slash command to an
answer at the Slack stand-in, a mention answered with chat.postMessage, a missing model, Slack
answering 500, feedback clicks and a correction through the menu, a forged request), capturing
every record at every level from chalicelib's loggers and the root logger (slack_sdk, urllib3,
chalice). The signing secret, the bot token and the response_url (a credential: whoever holds it
can post as the bot for 30 minutes) must appear in none of them, nor in anything printed.
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.api import runtime as api_runtime
from chalicelib.slack.render import FEEDBACK_WRONG
from chalicelib.worker import handler
from tests.support.interactions import block_actions, interaction_body, menu_choice
from tests.support.records import AllRecords
from tests.support.serving import apply_env, base_env, event_body, signed, slash_body
from tests.support.slack_standin import Fault, SlackStandIn

REPO = Path(__file__).resolve().parent.parent
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"

# --- (a) the repository ----------------------------------------------------------------------

_SLACK_PREFIX = r"(?:xox[abpre]|xoxe\.xox[bp]|xapp)"
RULES: dict[str, re.Pattern[str]] = {
    # Real Slack tokens carry numeric ids (xoxb-<team>-<bot>-<24 chars>, xapp-1-A…-<n>-<hex>);
    # names such as "xoxb-test-token" are obviously fake and not flagged.
    "slack token": re.compile(_SLACK_PREFIX + r"-(?=[A-Za-z0-9-]*[0-9])[A-Za-z0-9-]{10,}"),
    "AWS access key id": re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"),
    "AWS secret access key": re.compile(
        r"(?i)aws_?secret_?access_?key[\"']?\s*[:=]\s*[\"']?([A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])"
    ),
    "private key block": re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----"),
    # Slack signing secrets are 32 lowercase hex characters; flagged when assigned to a name
    # containing "secret", or on a line that talks about signing.
    "signing secret": re.compile(
        r"(?i)(?:secret\w*[\"']?\s*[:=]\s*[\"']([0-9a-z]{32})[\"'])"
        r"|(?:(?:secret|signing).*\b([0-9a-f]{32})\b)"
    ),
}

ALLOWED = {
    # Slack's documented example in "Verifying requests from Slack" (not hex: it can sign nothing
    # real); tests/chalicelib/slack/test_verify.py checks our verifier against that example.
    "8f742231b10e8888abcd99yyyzzz85a5",
    # AWS's documented example key pair (docs.aws.amazon.com), in case a test or doc quotes it.
    "AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
}
"""Values that look like credentials and are known not to be. The tests' own fake secrets
(tests/support/serving.py "test-signing-secret-0123456789abcdef" / "xoxb-test-token", the demo's
"demo-signing-secret-not-a-real-one", bench's "bench-signing-secret-…", moto's "testing") are
deliberately shaped so no rule matches them and need no entry here."""


def findings(text: str) -> list[tuple[str, str]]:
    """(rule, value) for every credential-looking value in `text` that is not allowed."""
    found = []
    for rule, pattern in RULES.items():
        for match in pattern.finditer(text):
            groups = [group for group in match.groups() if group]
            value = groups[0] if groups else match.group(0)
            if value not in ALLOWED:
                found.append((rule, value))
    return found


def tracked_text_files() -> Iterator[tuple[str, str]]:
    names = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True, timeout=30
    ).stdout.split(b"\0")
    for name in filter(None, names):
        path = REPO / name.decode()
        if not path.is_file():
            continue  # deleted in the working tree, not yet committed
        data = path.read_bytes()
        if b"\0" in data[:8192]:
            continue  # binary (images, models): no text credentials to find
        yield name.decode(), data.decode("utf-8", errors="replace")


def test_no_tracked_file_holds_a_credential() -> None:
    files = list(tracked_text_files())
    problems = [(name, rule, value[:12] + "…") for name, text in files for rule, value in findings(text)]

    assert len(files) > 50, "git ls-files found almost nothing: is this the repository?"
    assert problems == []


def _fake(*parts: str) -> str:
    return "".join(parts)


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        (
            _fake("SLACK_BOT_TOKEN=xox", "b-1234567890-1234567890123-", "AbCdEfGhIjKlMnOpQrStUvWx"),
            "slack token",
        ),
        (
            _fake("token: xox", "p-1234567890-1234567890-1234567890123-", "0123456789abcdef0123456789abcdef"),
            "slack token",
        ),
        (_fake("xa", "pp-1-A0123456789-1234567890123-", "0123456789abcdef" * 4), "slack token"),
        (_fake("xox", "e.xoxp-1-", "Mi0yLTExMTExMTExMTEx"), "slack token"),
        (_fake("aws_access_key_id = AK", "IA", "Z7Q2ORSTUVWXY4AB"), "AWS access key id"),
        (_fake("AS", "IA", "Z7Q2ORSTUVWXY4AB"), "AWS access key id"),
        (
            _fake("aws_secret_access_key = ", "Zq8t3Vb1x2Y4w5E6r7T8y9U0i1O2p3A4s5D6f7G8"),
            "AWS secret access key",
        ),
        (
            _fake('"AWS_SECRET_ACCESS_KEY": "', "Zq8t3Vb1x2Y4w5E6r7T8y9U0i1O2p3A4s5D6f7G8", '"'),
            "AWS secret access key",
        ),
        (_fake("-----BEGIN ", "RSA PRIVATE KEY-----"), "private key block"),
        (_fake("-----BEGIN ", "OPENSSH PRIVATE KEY-----"), "private key block"),
        (_fake('SLACK_SIGNING_SECRET = "', "3f1c9a0b7d2e4f6a", "8b0c1d2e3f4a5b6c", '"'), "signing secret"),
        (_fake("the signing secret is ", "3f1c9a0b7d2e4f6a", "8b0c1d2e3f4a5b6c"), "signing secret"),
    ],
)
def test_the_scanner_catches_real_looking_credentials(text: str, rule: str) -> None:
    assert [found_rule for found_rule, _ in findings(text)] == [rule]


@pytest.mark.parametrize(
    "text",
    [
        'BOT_TOKEN = "xoxb-test-token"',
        'SIGNING_SECRET = "test-signing-secret-0123456789abcdef"',
        'SECRET = "8f742231b10e8888abcd99yyyzzz85a5"',  # Slack's documented example
        '"AWS_SECRET_ACCESS_KEY": "testing"',
        "trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c",
        '"sha256": "' + "ab" * 32 + '"',
        "(see SLACK_SIGNING_SECRET_PARAM, an SSM parameter name)",
    ],
)
def test_the_scanner_leaves_known_and_harmless_values_alone(text: str) -> None:
    assert findings(text) == []


# --- (b) the logs ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Secrets:
    signing_secret: str
    bot_token: str
    response_url: str

    def all(self) -> list[str]:
        # The response_url's secret part too, in case something logs only the path.
        return [self.signing_secret, self.bot_token, self.response_url, self.response_url.rsplit("/", 1)[1]]


@pytest.fixture
def flow(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, slack_standin: SlackStandIn
) -> Iterator[tuple[Secrets, SlackStandIn]]:
    """Unique secrets shaped like Slack's (32 hex; xoxb-<digits>-<digits>-<24 chars>), so a leak
    cannot hide behind a value that also occurs elsewhere."""
    values = Secrets(
        signing_secret=secrets.token_hex(16),
        bot_token="-".join(
            [
                "xoxb",
                str(secrets.randbelow(10**12)),
                str(secrets.randbelow(10**13)),
                secrets.token_urlsafe(18),
            ]
        ),
        response_url=slack_standin.response_url(f"T0001/1234567890/{secrets.token_hex(12)}"),
    )
    env = base_env(
        tmp_path,
        SLACK_SIGNING_SECRET=values.signing_secret,
        SLACK_BOT_TOKEN=values.bot_token,
        RESPONSE_URL_EXTRA_HOSTS=slack_standin.host,
        SLACK_API_BASE_URL=slack_standin.api_url,
        MODEL_REFRESH_SECONDS="0",
    )
    apply_env(monkeypatch, env)
    yield values, slack_standin
    api_runtime.reset()
    handler.reset_worker()


def _use_model(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    monkeypatch.setenv("MODEL_URI", str(folder))
    from export.sample import SAMPLE_TEAMS

    monkeypatch.setenv("TEAM_DIRECTORY", str(SAMPLE_TEAMS))
    api_runtime.reset()
    handler.reset_worker()


def _post(path: str, body: bytes, content_type: str, secret: str, **headers: str) -> Any:
    from app import app

    with Client(app) as client:
        response = client.http.post(
            path, headers=signed(body, content_type, secret=secret, **headers), body=body
        )
    api_runtime.get_runtime().dispatcher.join(timeout=30)  # type: ignore[attr-defined]  # LocalDispatcher
    return response


def _assert_no_leak(values: Secrets, records: AllRecords, capsys: pytest.CaptureFixture[str]) -> None:
    leaks = records.containing(values.all())
    printed = capsys.readouterr()
    assert len(records.records) > 0, "nothing was captured: the capture is broken"
    assert [(secret[:8] + "…", text[:300]) for secret, text in leaks] == []
    for secret in values.all():
        assert secret not in printed.out and secret not in printed.err


def test_slash_command_answered_by_the_worker_leaks_nothing(
    flow: tuple[Secrets, SlackStandIn],
    sample_model_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    records: AllRecords,
    capsys: pytest.CaptureFixture[str],
) -> None:
    values, slack = flow
    _use_model(monkeypatch, sample_model_dir)

    ack = _post(
        "/slack/commands",
        slash_body("refund stuck in pending", response_url=values.response_url),
        FORM,
        values.signing_secret,
    )

    assert ack.status_code == 200
    [answer_post] = slack.wait_for(1, timeout=20)
    assert "Payments" in answer_post.body["text"]
    _assert_no_leak(values, records, capsys)


def test_event_answered_with_chat_post_message_leaks_nothing(
    flow: tuple[Secrets, SlackStandIn],
    sample_model_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    records: AllRecords,
    capsys: pytest.CaptureFixture[str],
) -> None:
    values, slack = flow
    _use_model(monkeypatch, sample_model_dir)
    mention = {
        "type": "app_mention",
        "user": "U0001",
        "channel": "C0001",
        "ts": "1700.000100",
        "text": "<@UBOT0001> who knows about the nightly export to the warehouse?",
    }

    response = _post("/slack/events", event_body(mention), JSON, values.signing_secret)

    assert response.status_code == 200
    [post] = slack.wait_for(1, timeout=20)
    assert post.path == "/api/chat.postMessage"
    assert post.headers["Authorization"] == f"Bearer {values.bot_token}"  # it was really used
    _assert_no_leak(values, records, capsys)


def test_missing_model_leaks_nothing(
    flow: tuple[Secrets, SlackStandIn], records: AllRecords, capsys: pytest.CaptureFixture[str]
) -> None:
    values, slack = flow

    _post(
        "/slack/commands",
        slash_body("who owns refunds?", response_url=values.response_url),
        FORM,
        values.signing_secret,
    )

    [post] = slack.wait_for(1, timeout=20)
    assert "no team-prediction model" in post.body["text"]
    assert any(record.levelname == "ERROR" for record in records.records)  # the failure was logged
    _assert_no_leak(values, records, capsys)


@pytest.mark.parametrize(
    ("faults", "answered"),
    [
        ([Fault.SERVER_ERROR], True),
        ([Fault.SERVER_ERROR] * 3, False),
        ([Fault.DROP], True),
        ([Fault.DROP] * 3, False),
    ],
    ids=["retried-500", "slack-down-500", "retried-dropped", "slack-down-dropped"],
)
def test_slack_failing_on_delivery_leaks_nothing(
    flow: tuple[Secrets, SlackStandIn],
    records: AllRecords,
    capsys: pytest.CaptureFixture[str],
    faults: list[Fault],
    answered: bool,
) -> None:
    """Retries are where slack_sdk's webhook client names the URL (INFO), and a dropped connection
    is where it logs an ERROR of its own: both must stay free of the response_url."""
    values, slack = flow
    slack.fail_next(*faults)

    _post(
        "/slack/commands",
        slash_body("who owns refunds?", response_url=values.response_url),
        FORM,
        values.signing_secret,
    )

    assert len(slack.received) == len(faults) + answered  # retried by slack_sdk's handlers
    assert records.events().count("job_post_failed") == (not answered)
    _assert_no_leak(values, records, capsys)


def test_event_answer_refused_by_slack_leaks_nothing(
    flow: tuple[Secrets, SlackStandIn], records: AllRecords, capsys: pytest.CaptureFixture[str]
) -> None:
    values, slack = flow
    slack.fail_next(Fault.SERVER_ERROR, Fault.SERVER_ERROR, Fault.SERVER_ERROR)
    mention = {"type": "app_mention", "user": "U1", "channel": "C1", "ts": "1.1", "text": "<@UBOT0001> who?"}

    _post("/slack/events", event_body(mention, event_id="EvLeak"), JSON, values.signing_secret)

    assert len(slack.received) == 3
    _assert_no_leak(values, records, capsys)


def test_feedback_click_leaks_nothing(
    flow: tuple[Secrets, SlackStandIn], records: AllRecords, capsys: pytest.CaptureFixture[str]
) -> None:
    values, slack = flow
    body = interaction_body(block_actions(FEEDBACK_WRONG, response_url=values.response_url))

    response = _post("/slack/interactions", body, FORM, values.signing_secret)

    assert response.status_code == 200
    assert "feedback" in records.events()
    [confirmation] = slack.wait_for(1, timeout=20)  # the worker really used the response_url
    assert "not the right team" in confirmation.body["text"]
    _assert_no_leak(values, records, capsys)


def test_a_correction_through_the_menu_leaks_nothing_and_logs_no_question(
    flow: tuple[Secrets, SlackStandIn],
    sample_model_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    records: AllRecords,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """ "Wrong team" (its menu posted to the click's response_url), then a choice in the menu (a
    response_url of its own), with the question kept in the store: neither URL nor the question is
    in any log record."""
    values, slack = flow
    _use_model(monkeypatch, sample_model_dir)
    monkeypatch.setenv("STORE_FEEDBACK_QUESTIONS", "true")
    api_runtime.reset()
    question = f"who owns refund-{secrets.token_hex(6)}?"
    value = json.dumps({"q": "slash:trig.1", "team": "PAYMENTS", "v": "v1", "text": question})
    menu_url = slack.response_url(f"T0001/1234567891/{secrets.token_hex(12)}")

    _post(
        "/slack/interactions",
        interaction_body(block_actions(FEEDBACK_WRONG, value, response_url=values.response_url)),
        FORM,
        values.signing_secret,
    )
    [menu] = slack.wait_for(1, timeout=20)
    [section] = [block for block in menu.body["blocks"] if block.get("accessory")]
    _post(
        "/slack/interactions",
        menu_choice("DATA", section["block_id"], response_url=menu_url),
        FORM,
        values.signing_secret,
    )

    assert slack.wait_for(2, timeout=20)[-1].body["text"] == "Thanks — noted that Data was the right team."
    _assert_no_leak(Secrets(values.signing_secret, values.bot_token, menu_url), records, capsys)
    _assert_no_leak(values, records, capsys)
    assert records.containing([question]) == []


@pytest.mark.parametrize("path", ["/slack/commands", "/slack/events", "/slack/interactions"])
def test_forged_request_leaks_nothing(
    flow: tuple[Secrets, SlackStandIn], records: AllRecords, capsys: pytest.CaptureFixture[str], path: str
) -> None:
    values, slack = flow
    body = slash_body("who owns refunds?", response_url=values.response_url)

    response = _post(path, body, FORM if path != "/slack/events" else JSON, "forged-" + values.signing_secret)

    assert response.status_code == 401
    assert slack.received == []
    _assert_no_leak(values, records, capsys)


def test_secrets_read_from_ssm_leak_nothing_even_at_debug(
    flow: tuple[Secrets, SlackStandIn],
    moto_server: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    records: AllRecords,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The deployed configuration: both secrets come from SSM SecureString parameters."""
    import boto3

    from tests.support.aws import apply_fake_aws_env

    values, _ = flow
    apply_fake_aws_env(monkeypatch, tmp_path / "nowhere", SSM=moto_server)
    ssm = boto3.session.Session().client("ssm")
    names = {"SLACK_SIGNING_SECRET": values.signing_secret, "SLACK_BOT_TOKEN": values.bot_token}
    for name, value in names.items():
        parameter = f"/whoknows/test-{secrets.token_hex(4)}/{name.lower()}"
        ssm.put_parameter(Name=parameter, Value=value, Type="SecureString")
        monkeypatch.delenv(name)
        monkeypatch.setenv(f"{name}_PARAM", parameter)
    api_runtime.reset()
    records.records.clear()
    records.rendered.clear()

    response = _post("/slack/commands", slash_body("help"), FORM, values.signing_secret)

    assert response.status_code == 200  # the secret was read from SSM and the signature checked
    _assert_no_leak(values, records, capsys)
