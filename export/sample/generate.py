"""Writes the synthetic sample tickets CSV for Quillstone, a fictional mid-size SaaS company.

The sample lets tests, demos and benchmarks train a real model without anyone's Jira. Every word
is invented here: templates x per-team vocabulary x shared phrasing, drawn from one seeded random
generator, so the committed CSV is reproducible byte for byte.

Difficulty is deliberate. Teams share words (index, certificate, token, export, sync, webhook,
timeout), a slice of tickets is resolved by a team other than the one their wording suggests
(the login page that was slow because of the load balancer), and each team's vocabulary drifts
over the two years, so a model trained on old tickets is good on new ones but not perfect.

    python -m export.sample.generate           # rewrite tickets.csv
    python -m export.sample.generate --check   # exit 1 if the committed CSV differs
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import sys
from dataclasses import astuple, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from export.sample import SAMPLE_TICKETS
from export.tickets import COLUMNS, Ticket

SEED = 20240305
TICKETS_PER_TEAM = 60
START = datetime(2023, 1, 9, 8, 0, tzinfo=UTC)
SPAN = timedelta(days=720)
# Share of tickets whose wording belongs to another team: the ticket was filed about a symptom
# and resolved by whoever found the cause. This is what keeps accuracy honest.
BORROWED_SHARE = 0.1


@dataclass(frozen=True)
class Vocabulary:
    """What one team's tickets talk about; `early`/`late` subjects model components that change."""

    prefix: str
    subjects: tuple[str, ...]
    early: tuple[str, ...]
    late: tuple[str, ...]
    symptoms: tuple[str, ...]
    actions: tuple[str, ...]
    classes: tuple[str, ...]
    details: tuple[str, ...]
    snippets: tuple[str, ...]
    links: tuple[tuple[str, str], ...]


TEAMS: dict[str, Vocabulary] = {
    "PAYMENTS": Vocabulary(
        prefix="PAY",
        subjects=(
            "invoice PDF",
            "refund",
            "VAT calculation",
            "subscription renewal",
            "card payment",
            "billing page",
            "credit note",
            "PayStream webhook",
            "proration",
            "dunning email",
            "payment token",
            "invoice export",
            "tax ID validation",
            "coupon code",
        ),
        early=("legacy billing cron", "PayStream v1 charges API", "Invoicer batch job"),
        late=("PayStream PaymentIntents", "usage-based billing meter", "billing ledger"),
        symptoms=(
            "charges the customer twice",
            "shows the wrong VAT rate",
            "fails with a currency mismatch",
            "is missing line items",
            "rounds amounts incorrectly",
            "times out at month end",
            "is stuck in pending",
            "sends the receipt to the wrong address",
        ),
        actions=(
            "issue a partial refund",
            "change the billing currency for an account",
            "regenerate an invoice",
            "apply reverse-charge VAT",
            "cancel a subscription without a refund",
            "retry a failed card payment",
        ),
        classes=(
            "InvoiceRenderer",
            "RefundService",
            "VatRateResolver",
            "ChargeReconciler",
            "DunningScheduler",
        ),
        details=(
            "The customer was billed in EUR but the invoice shows GBP totals.",
            "Finance noticed the mismatch during the monthly reconciliation.",
            "PayStream shows the charge as succeeded but our ledger still says pending.",
            "The refund was issued twice from the admin panel.",
            "Reverse-charge VAT should apply because the customer gave a valid EU tax ID.",
            "The invoice number sequence skipped from 10412 to 10415.",
            "Proration for a mid-cycle plan upgrade comes out negative.",
            "The dunning email went out although the card retry succeeded.",
            "Accounting needs the credit note before the quarter closes.",
            "The webhook signature check fails for events older than five minutes.",
        ),
        snippets=(
            "{code}\nTraceback (most recent call last):\n"
            '  File "billing/invoices/render.py", line 88, in render\n'
            "    total = InvoiceRenderer(invoice).totals()\nKeyError: 'vat_rate'\n{code}",
            "{code}\npaystream.error.CardError: card_declined (insufficient_funds)\n"
            "  at ChargeReconciler.retry(charge_id=ch_3Nq8)\n{code}",
            '{code:json}\n{"type": "invoice.payment_failed", "amount_due": 4900, "currency": "eur"}\n{code}',
        ),
        links=(
            ("Billing runbook", "https://wiki.quillstone.example/billing/runbook"),
            ("PayStream dashboard", "https://dashboard.paystream.example/payments"),
        ),
    ),
    "PLATFORM": Vocabulary(
        prefix="PLAT",
        subjects=(
            "Kubernetes deploy",
            "CI pipeline",
            "Terraform plan",
            "DNS record",
            "TLS certificate",
            "load balancer",
            "staging cluster",
            "Helm chart",
            "container image build",
            "node pool autoscaling",
            "secrets rotation",
            "ingress controller",
            "build cache",
            "VPN access",
        ),
        early=("Jenkins job", "kops cluster", "self-hosted runner"),
        late=("GitHub Actions workflow", "ArgoCD sync", "managed Kubernetes upgrade"),
        symptoms=(
            "fails with OOMKilled",
            "is stuck in CrashLoopBackOff",
            "times out after 30 minutes",
            "returns 502 intermittently",
            "expired over the weekend",
            "drifts from the Terraform state",
            "cannot pull the image",
            "runs out of disk",
        ),
        actions=(
            "get access to the staging cluster",
            "add a DNS record for a new service",
            "renew a TLS certificate",
            "roll back a deploy",
            "increase the memory limit of a pod",
            "add a secret to the deploy pipeline",
        ),
        classes=("DeployOrchestrator", "CertRenewalJob", "ClusterAutoscaler", "PipelineRunner", "DnsSyncer"),
        details=(
            "The pod gets OOMKilled a few minutes after the rollout starts.",
            "terraform plan wants to recreate the load balancer, which would drop traffic.",
            "The wildcard certificate for *.quillstone.example expires in 6 days.",
            "CI has been queueing for 40 minutes since this morning.",
            "The readiness probe fails because the service starts slower than 10 seconds.",
            "We need a new namespace with the usual network policies.",
            "The ingress returns 502 when more than two replicas are rolling.",
            "The node pool did not scale up although pods are pending.",
            "cert-manager logs show the ACME challenge failing on the DNS record.",
            "Builds fail because the base image tag was deleted from the registry.",
        ),
        snippets=(
            "{code:yaml}\nresources:\n  limits:\n    memory: 512Mi\n    cpu: 500m\nreadinessProbe:\n"
            "  initialDelaySeconds: 10\n{code}",
            "{code}\nError: error creating certificate: ACME challenge failed for api.quillstone.example\n"
            '  on modules/tls/main.tf line 14, in resource "acme_certificate" "api"\n{code}',
            "{noformat}\nBack-off restarting failed container api in pod api-7d9f8c6b5-x2kq\n{noformat}",
        ),
        links=(
            ("Platform runbook", "https://wiki.quillstone.example/platform/runbook"),
            ("Grafana: cluster overview", "https://grafana.quillstone.example/d/k8s-overview"),
        ),
    ),
    "DATA": Vocabulary(
        prefix="DATA",
        subjects=(
            "nightly export",
            "ETL job",
            "warehouse table",
            "Airflow DAG",
            "revenue dashboard",
            "slow query",
            "CSV export",
            "event stream ingestion",
            "dbt model",
            "data retention job",
            "warehouse index",
            "sync to the CRM",
            "KPI report",
            "backfill",
        ),
        early=("Redshift cluster", "cron-based loader", "Metabase dashboard"),
        late=("Snowflake-style warehouse", "dbt Cloud run", "Looker-style explore"),
        symptoms=(
            "is missing yesterday's rows",
            "times out after two hours",
            "shows duplicated events",
            "has numbers that do not match the billing totals",
            "failed with a schema mismatch",
            "runs much slower since last week",
            "loaded the wrong time zone",
            "is stuck in the queued state",
        ),
        actions=(
            "get read access to the warehouse",
            "add a column to the nightly export",
            "backfill a week of events",
            "schedule a new Airflow DAG",
            "speed up a slow dashboard query",
            "export a customer's data for a GDPR request",
        ),
        classes=("NightlyExportJob", "EventLoader", "WarehouseSync", "DagScheduler", "RetentionSweeper"),
        details=(
            "The nightly export finished but the file is half the usual size.",
            "The DAG failed on the transform step with a schema mismatch on the events table.",
            "The revenue dashboard disagrees with the finance numbers by about 3%.",
            "Adding an index on account_id might help; the query scans the whole table.",
            "The backfill needs to cover the outage window on Tuesday.",
            "Timestamps in the warehouse are UTC but the report assumes local time.",
            "The ingestion lag is over four hours according to the freshness check.",
            "The retention job deleted rows that are still referenced by the report.",
            "Marketing needs the KPI report by Monday morning.",
            "The export is written to the shared bucket and picked up by the CRM sync.",
        ),
        snippets=(
            "{code:sql}\nSELECT account_id, sum(amount) FROM events\n"
            "WHERE created_at > now() - interval '30 days'\n"
            "GROUP BY account_id;  -- 14 min, seq scan on events\n{code}",
            "{code}\nairflow.exceptions.AirflowTaskTimeout: Timeout, PID: 4412\n"
            "  in task nightly_export.transform (try 3 of 3)\n{code}",
            '{noformat}\nERROR WarehouseSync: column "plan_tier" does not exist in target schema\n{noformat}',
        ),
        links=(
            ("Airflow UI", "https://airflow.quillstone.example/dags/nightly_export"),
            ("Data catalogue", "https://wiki.quillstone.example/data/catalogue"),
        ),
    ),
    "IDENTITY": Vocabulary(
        prefix="IDN",
        subjects=(
            "login",
            "SSO",
            "SAML assertion",
            "OAuth token",
            "MFA enrolment",
            "password reset",
            "session timeout",
            "invite link",
            "SCIM provisioning",
            "API key",
            "role permissions",
            "signing certificate",
            "magic link email",
            "account lockout",
        ),
        early=("in-house session store", "legacy LDAP bridge", "OAuth 1 endpoint"),
        late=("passkey login", "OIDC provider", "fine-grained permissions"),
        symptoms=(
            "logs the user out after a few minutes",
            "rejects a valid assertion",
            "sends the reset email twice",
            "loops back to the login page",
            "returns 401 for a fresh token",
            "does not accept the one-time code",
            "ignores the configured role",
            "fails after the IdP certificate rotated",
        ),
        actions=(
            "set up SSO for a new customer",
            "reset MFA for a locked-out user",
            "rotate the SAML signing certificate",
            "revoke all sessions for a user",
            "create a scoped API key",
            "map IdP groups to roles",
        ),
        classes=(
            "TokenRefreshWorker",
            "SamlResponseValidator",
            "SessionStore",
            "MfaChallengeService",
            "ScimSync",
        ),
        details=(
            "The customer's IdP rotated its signing certificate and now every SAML login fails.",
            "Users are logged out after five minutes although the session timeout is eight hours.",
            "The password reset link says it has expired as soon as it is opened.",
            "The OAuth refresh token is rejected with invalid_grant.",
            "The user lost their phone and cannot complete MFA.",
            "SCIM deprovisioning did not remove the user from the workspace.",
            "The admin role does not grant access to the audit log.",
            "The login page loops between /login and /sso/callback.",
            "Clock skew between the IdP and our servers is about 90 seconds.",
            "The invite link was forwarded and used by someone outside the company.",
        ),
        snippets=(
            "{code}\nSamlValidationError: Signature validation failed: certificate fingerprint mismatch\n"
            "  at SamlResponseValidator.verify (saml/validator.ts:142)\n{code}",
            '{code:json}\n{"error": "invalid_grant", "error_description": "refresh token expired"}\n{code}',
            "{noformat}\nWARN TokenRefreshWorker: refresh failed for user 88213, retrying in 30s\n{noformat}",
        ),
        links=(
            ("SSO setup guide", "https://wiki.quillstone.example/identity/sso-setup"),
            ("IdP metadata", "https://login.quillstone.example/saml/metadata"),
        ),
    ),
    "MOBILE": Vocabulary(
        prefix="MOB",
        subjects=(
            "iOS app",
            "Android app",
            "push notification",
            "App Store release",
            "offline sync",
            "deep link",
            "app crash on launch",
            "in-app camera upload",
            "dark mode",
            "widget",
            "device token",
            "TestFlight build",
            "Play Store review",
            "tablet layout",
        ),
        early=("React Native bridge", "Cordova plugin", "iOS 16 build"),
        late=("SwiftUI screen", "Jetpack Compose screen", "iOS 18 build"),
        symptoms=(
            "crashes on launch",
            "does not arrive on Android 14",
            "was rejected by review",
            "loses changes made offline",
            "opens the wrong screen",
            "drains the battery",
            "shows a blank screen after update",
            "duplicates items after sync",
        ),
        actions=(
            "get a TestFlight invite",
            "send a test push notification",
            "ship a hotfix to the App Store",
            "debug offline sync on a device",
            "add a deep link for a new screen",
            "find crash reports for a build",
        ),
        classes=(
            "PushTokenRegistrar",
            "OfflineSyncEngine",
            "DeepLinkRouter",
            "CameraUploadTask",
            "ReleaseNotesBuilder",
        ),
        details=(
            "The app crashes on launch for users on iOS 17.4 after the latest update.",
            "Push notifications stopped arriving on Android after the device token refresh.",
            "App Store review rejected the build because of the login screen.",
            "Edits made in airplane mode disappear once the phone is back online.",
            "The deep link from the reminder email opens the home screen instead.",
            "Crash reports show a null pointer in the sync queue.",
            "The tablet layout cuts off the bottom toolbar.",
            "The release is blocked until the privacy manifest is updated.",
            "Users report the widget shows yesterday's data.",
            "The camera upload retries forever on a slow connection.",
        ),
        snippets=(
            "{code}\nFatal Exception: java.lang.IllegalStateException: OfflineSyncEngine already running\n"
            "    at com.quillstone.sync.OfflineSyncEngine.start(OfflineSyncEngine.kt:77)\n{code}",
            "{code}\nThread 0 Crashed:: Dispatch queue: com.apple.main-thread\n"
            "0  Quillstone  DeepLinkRouter.route(_:) + 212\n{code}",
            "{noformat}\nAPNs response: 410 Unregistered (device token no longer valid)\n{noformat}",
        ),
        links=(
            ("Crash dashboard", "https://crashes.quillstone.example/apps/ios"),
            ("Release checklist", "https://wiki.quillstone.example/mobile/release-checklist"),
        ),
    ),
    "SEARCH": Vocabulary(
        prefix="SRCH",
        subjects=(
            "search results",
            "search index",
            "relevance ranking",
            "autocomplete",
            "reindexing job",
            "search cluster",
            "synonyms list",
            "faceted filters",
            "typo tolerance",
            "search latency",
            "index mapping",
            "query parser",
            "shard allocation",
            "stemming",
        ),
        early=("Beacon 6 cluster", "Solr-era analyser", "nightly full reindex"),
        late=("Beacon 8 cluster", "vector search pilot", "incremental reindex"),
        symptoms=(
            "returns stale documents",
            "ranks exact matches below partial ones",
            "suggests deleted items",
            "takes over two seconds",
            "ignores accented characters",
            "goes yellow after a node restart",
            "misses documents created today",
            "fails on queries with quotes",
        ),
        actions=(
            "trigger a reindex for one customer",
            "add a synonym",
            "boost recent documents in ranking",
            "change the index mapping without downtime",
            "debug why a document is not found",
            "tune autocomplete suggestions",
        ),
        classes=(
            "IndexWriter",
            "RelevanceScorer",
            "AutocompleteService",
            "ReindexCoordinator",
            "QueryRewriter",
        ),
        details=(
            "Searching for the exact project name returns it on page three.",
            "Documents created in the last hour do not show up in search.",
            "The cluster went yellow after a node restart and two shards are unassigned.",
            "Autocomplete keeps suggesting a project that was deleted last week.",
            "The reindex job has been running for nine hours and is at 60%.",
            "Queries with accented letters return nothing unless typed without the accent.",
            "p95 search latency jumped from 180 ms to 1.4 s after the mapping change.",
            "Adding the synonym laptop => notebook should fix the customer's complaint.",
            "The index refresh interval was raised to 30 s to ease indexing load.",
            "Filters by tag show counts that do not match the result list.",
        ),
        snippets=(
            '{code:json}\n{"query": {"multi_match": {"query": "roadmap q3", '
            '"fields": ["title^3", "body"]}}}\n{code}',
            "{code}\nBeaconException: index [docs-v42] blocked by: [FORBIDDEN/12/index read-only]\n"
            "  at IndexWriter.bulk(IndexWriter.java:211)\n{code}",
            "{noformat}\ncluster health: yellow, unassigned_shards: 2, relocating_shards: 0\n{noformat}",
        ),
        links=(
            ("Search relevance notes", "https://wiki.quillstone.example/search/relevance"),
            ("Cluster monitor", "https://beacon.quillstone.example/_cat/health"),
        ),
    ),
}

# Which team a misleadingly worded ticket borrows its wording from: the neighbours people confuse.
NEIGHBOURS: dict[str, tuple[str, ...]] = {
    "PAYMENTS": ("DATA", "IDENTITY"),
    "PLATFORM": ("IDENTITY", "SEARCH", "DATA"),
    "DATA": ("SEARCH", "PAYMENTS"),
    "IDENTITY": ("PLATFORM", "MOBILE"),
    "MOBILE": ("IDENTITY", "PLATFORM"),
    "SEARCH": ("DATA", "PLATFORM"),
}

CUSTOMERS = (
    "Northwind Studio",
    "Harbor & Vine",
    "Kestrel Labs",
    "Café Lumière",
    "Brightmoor Schools",
    "Søndergaard ApS",
    "Tallow Logistics",
    "Müller Bau GmbH",
    "Oakridge Clinic",
    "Pinecrest Legal",
)
ENVIRONMENTS = ("prod", "staging", "eu-west", "us-east", "sandbox")
EVENTS = (
    "the last release",
    "the weekend maintenance",
    "Tuesday's deploy",
    "the migration",
    "the config change",
    "the library upgrade",
)

SUMMARY_TEMPLATES = (
    "{Subject} {symptom}",
    "{Subject} {symptom} for {customer}",
    "[{env}] {subject} {symptom}",
    "{Class} {symptom} after {event}",
    "How do I {action}?",
    "Question: how do we {action}",
    "Incident: {subject} {symptom}",
    "{Subject} broken since {event}",
    "Flaky {subject} in {env}",
    "Who owns the {subject}?",
    "Request: {action}",
    "{Component} {symptom}",
    "Customer escalation - {subject} {symptom}",
)

GENERIC_SENTENCES = (
    "Reported by {customer} through support.",
    "This started after {event}.",
    "It happens roughly once a week and we have not found a pattern yet.",
    "Not sure this is the right team, please reassign if not.",
    "Several customers are affected, see the linked support tickets.",
    "Happens in {env} only; the other regions look fine.",
    "Workaround for now: retry manually.",
    "Can someone take a look today? The customer is waiting.",
    "Low priority, but it keeps coming up in support.",
    "Steps to reproduce are below.",
    "We saw the same thing last quarter and it went away by itself.",
    "Logs are attached.",
)

# Short, plain tickets people really file: these carry little signal and are meant to be hard.
TERSE_SUMMARIES = (
    "Something is wrong with {subject}",
    "{Subject} again",
    "Timeout in {env}",
    "Customer cannot finish their task",
    "Weird behaviour after {event}",
)

FLOURISHES = (" 🙏", " 🔥", " — merci !", " (ça bloque l'équipe)", " 😕")


def _capitalize(text: str) -> str:
    return text[:1].upper() + text[1:]


def _ticket_text(
    rng: random.Random, wording: Vocabulary, progress: float, empty_description: bool
) -> tuple[str, str]:
    """One summary and description; `progress` (0..1 through the two years) picks era components."""
    era = wording.early if progress < 0.5 else wording.late
    component = rng.choice(era) if rng.random() < 0.5 else rng.choice(wording.subjects)
    subject = rng.choice(wording.subjects)
    slots = {
        "subject": subject,
        "Subject": _capitalize(subject),
        "symptom": rng.choice(wording.symptoms),
        "action": rng.choice(wording.actions),
        "Class": rng.choice(wording.classes),
        "Component": _capitalize(component),
        "customer": rng.choice(CUSTOMERS),
        "env": rng.choice(ENVIRONMENTS),
        "event": rng.choice(EVENTS),
    }
    if rng.random() < 0.08:
        summary = rng.choice(TERSE_SUMMARIES).format(**slots)
    else:
        summary = rng.choice(SUMMARY_TEMPLATES).format(**slots)
    if rng.random() < 0.04:
        summary += rng.choice(FLOURISHES)
    if empty_description:
        return summary, ""

    sentences = rng.sample(wording.details, rng.randint(0, 3))
    sentences += [s.format(**slots) for s in rng.sample(GENERIC_SENTENCES, rng.randint(0, 2))]
    if rng.random() < 0.3:
        sentences.append(f"Probably related to {rng.choice(wording.classes)} or the {component}.")
    if not sentences:
        sentences.append(f"See title. The {subject} {slots['symptom']}.")
    rng.shuffle(sentences)
    sentences = sentences[:6]
    if rng.random() < 0.15:
        sentences[0] = f"*{sentences[0]}*"
    parts = [" ".join(sentences)]
    if rng.random() < 0.25:
        parts.append(rng.choice(wording.snippets))
    if rng.random() < 0.2:
        label, url = rng.choice(wording.links)
        parts.append(f"See [{label}|{url}].")
    if len(parts) > 1 and rng.random() < 0.3:
        parts = ["h3. Context", parts[0], "h3. Details", *parts[1:]]
    return summary, "\n".join(parts)


def generate() -> list[Ticket]:
    """All sample tickets, oldest first; the same list on every run and Python version."""
    rng = random.Random(SEED)
    teams = [team for team in TEAMS for _ in range(TICKETS_PER_TEAM)]
    rng.shuffle(teams)
    seconds = sorted(rng.randrange(int(SPAN.total_seconds())) for _ in teams)
    empty = set(rng.sample(range(len(teams)), 2))
    next_number = dict.fromkeys(TEAMS, 101)
    tickets: list[Ticket] = []
    for position, (team, offset) in enumerate(zip(teams, seconds, strict=True)):
        wording_team = team
        if rng.random() < BORROWED_SHARE:
            wording_team = rng.choice(NEIGHBOURS[team])
        summary, description = _ticket_text(
            rng, TEAMS[wording_team], offset / SPAN.total_seconds(), position in empty
        )
        created = START + timedelta(seconds=offset)
        key = f"{TEAMS[team].prefix}-{next_number[team]}"
        next_number[team] += 1
        tickets.append(
            Ticket(
                key=key,
                summary=summary,
                description=description,
                team=team,
                created=created.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
            )
        )
    return tickets


def render(tickets: list[Ticket]) -> bytes:
    """The CSV bytes, exactly as committed (RFC 4180, CRLF row ends, UTF-8 without BOM)."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    writer.writerows(astuple(ticket) for ticket in tickets)
    return buffer.getvalue().encode("utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the committed CSV is out of date")
    parser.add_argument("--output", type=Path, default=SAMPLE_TICKETS, help="where to write the CSV")
    args = parser.parse_args(argv)
    expected = render(generate())
    if args.check:
        actual = args.output.read_bytes() if args.output.exists() else b""
        if actual != expected:
            print(f"{args.output} differs from the generator; run python -m export.sample.generate")
            return 1
        print(f"{args.output} is up to date")
        return 0
    args.output.write_bytes(expected)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
