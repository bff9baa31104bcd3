"""Shared fixtures live in tests/support, one module per stand-in, registered here."""

pytest_plugins = [
    "tests.support.models",
    "tests.support.aws",
    "tests.support.s3",
    "tests.support.dynamodb",
    "tests.support.slack_standin",
    "tests.support.jira_standin",
    "tests.support.lambda_standin",
    "tests.support.serving",
    "tests.support.records",
    "tests.support.live_bot",
]
