"""A synthetic sample of Jira tickets and a team directory, shipped so everything runs without Jira."""

from pathlib import Path

_HERE = Path(__file__).resolve().parent

SAMPLE_TICKETS: Path = _HERE / "tickets.csv"
SAMPLE_TEAMS: Path = _HERE / "teams.json"
