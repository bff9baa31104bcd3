"""Publishing never makes it worse: `export publish` against the model published on the moto S3 server,
both real models answering the candidate's held-out questions through onnxruntime."""

from __future__ import annotations

import json
import random
import shutil
import statistics
from pathlib import Path
from typing import Any

import pytest

from chalicelib.model.manifest import MANIFEST_NAME, parse_manifest
from chalicelib.model.predictor import Predictor
from chalicelib.text import NORMALIZER_VERSION
from export.__main__ import main
from export.gate import Chance, GateRefused, chance, judge
from export.holdout import HOLDOUT_NAME
from export.publish import publish
from export.sample import SAMPLE_TICKETS
from export.tickets import Ticket, read_tickets, write_tickets
from export.train import train
from tests.support.s3 import write_model
from tests.support.serving import model_variant


@pytest.fixture(scope="module")
def older_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Trained on the oldest 70 % of the sample with the reference graph, which has no explanation
    outputs: what an older deployment may have published."""
    folder = tmp_path_factory.mktemp("older")
    tickets = sorted(read_tickets(SAMPLE_TICKETS), key=lambda t: t.created)
    write_tickets(folder / "older.csv", tickets[: len(tickets) * 7 // 10])
    train(folder / "older.csv", folder / "model", min_tickets_per_team=5, progress=False, graph="skl2onnx")
    return folder / "model"


@pytest.fixture(scope="module")
def worse_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every ticket, but the teams of the oldest 80 % shuffled (a bulk edit gone wrong): the newest
    tickets it is evaluated on keep their true teams."""
    folder = tmp_path_factory.mktemp("worse")
    tickets = sorted(read_tickets(SAMPLE_TICKETS), key=lambda t: t.created)
    cut = len(tickets) * 8 // 10
    teams = [t.team for t in tickets[:cut]]
    random.Random(7).shuffle(teams)
    shuffled = [
        Ticket(t.key, t.summary, t.description, team, t.created)
        for t, team in zip(tickets, teams, strict=False)
    ]
    write_tickets(folder / "shuffled.csv", [*shuffled, *tickets[cut:]])
    train(folder / "shuffled.csv", folder / "model", min_tickets_per_team=5, progress=False)
    return folder / "model"


def pointer(client: Any, bucket: str) -> dict[str, Any]:
    return json.loads(client.get_object(Bucket=bucket, Key=f"m/{MANIFEST_NAME}")["Body"].read())


def version_of(folder: Path) -> str:
    return parse_manifest((folder / MANIFEST_NAME).read_bytes()).version


def test_a_worse_model_is_refused_with_both_figures_and_nothing_is_uploaded(
    s3_bucket: tuple[Any, str], older_model: Path, worse_model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    client, bucket = s3_bucket
    publish(older_model, f"s3://{bucket}/m", client)
    before = client.list_objects_v2(Bucket=bucket)["KeyCount"]

    assert main(["publish", str(worse_model), f"s3://{bucket}/m"]) == 2

    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(
        f"error: refused: candidate {version_of(worse_model)} is worse than the published "
        f"{version_of(older_model)}: top-1 0."
    )
    assert " published, answered precision 0." in line
    assert "on the 72 held-out tickets newer than the published model's (2024-" in line
    assert "; a drop beyond 1 point (--max-drop 0.01) and beyond chance on these tickets (±" in line
    assert line.endswith(" for precision) is refused; publish anyway with --force")
    assert pointer(client, bucket)["version"] == version_of(older_model)
    assert client.list_objects_v2(Bucket=bucket)["KeyCount"] == before


def test_force_publishes_it_and_the_manifest_records_the_override_and_the_figures(
    s3_bucket: tuple[Any, str], older_model: Path, worse_model: Path
) -> None:
    client, bucket = s3_bucket
    publish(older_model, f"s3://{bucket}/m", client)
    said: list[str] = []

    publish(worse_model, f"s3://{bucket}/m", client, force=True, say=said.append)

    record = pointer(client, bucket)["publish"]
    assert (record["forced"], record["passed"], record["gate"]) == (True, False, "compared")
    assert record["compared_with"] == version_of(older_model) and record["questions"] == 72
    assert record["candidate"]["top1"] < record["published"]["top1"] - 0.01 - record["chance"]["top1"]
    assert 0 < record["chance"]["top1"] < 0.2 and 0 < record["chance"]["precision"] < 0.3
    assert (
        record["published"]["threshold"]
        == parse_manifest((older_model / MANIFEST_NAME).read_bytes()).extra["confidence_threshold"]["value"]
    )
    version = version_of(worse_model)
    stored = client.get_object(Bucket=bucket, Key=f"m/versions/{version}/{MANIFEST_NAME}")["Body"].read()
    assert json.loads(stored)["publish"] == record
    [gate] = [line for line in said if line.startswith("gate: ")]
    assert gate.endswith("; published anyway (--force)")


def test_a_better_model_is_published_over_one_without_explanation_outputs(
    s3_bucket: tuple[Any, str], older_model: Path, sample_model_dir: Path
) -> None:
    client, bucket = s3_bucket
    assert Predictor(older_model / "model.onnx").explain("refund stuck in pending").terms == []
    publish(older_model, f"s3://{bucket}/m", client)
    said: list[str] = []

    publish(sample_model_dir, f"s3://{bucket}/m", client, say=said.append)

    record = pointer(client, bucket)["publish"]
    assert (record["forced"], record["passed"], record["questions"]) == (False, True, 72)
    assert record["candidate"]["top1"] >= record["published"]["top1"] - 0.01
    assert record["candidate"]["precision"] >= record["published"]["precision"] - 0.01
    [gate] = [line for line in said if line.startswith("gate: ")]
    assert gate.startswith(
        f"gate: candidate {version_of(sample_model_dir)} vs published {version_of(older_model)}"
    )


def test_a_published_model_from_another_normaliser_has_nothing_to_compare_and_says_why(
    s3_bucket: tuple[Any, str], older_model: Path, sample_model_dir: Path, tmp_path: Path
) -> None:
    client, bucket = s3_bucket
    outdated = tmp_path / "outdated"
    shutil.copytree(older_model, outdated)
    manifest = json.loads((outdated / MANIFEST_NAME).read_text())
    (outdated / MANIFEST_NAME).write_text(json.dumps(manifest | {"normalizer_version": "2"}))
    publish(outdated, f"s3://{bucket}/m", client)

    publish(sample_model_dir, f"s3://{bucket}/m", client)

    record = pointer(client, bucket)["publish"]
    assert (record["gate"], record["passed"]) == ("unusable", True)
    assert record["reason"] == (
        f"the published model {manifest['version']} reads questions with normaliser version 2 and this "
        f"code with {NORMALIZER_VERSION}: the bot refuses it, so there is nothing to compare with"
    )


def test_tickets_the_published_model_trained_on_are_never_compared(
    s3_bucket: tuple[Any, str], sample_model_dir: Path, tmp_path: Path
) -> None:
    client, bucket = s3_bucket
    publish(sample_model_dir, f"s3://{bucket}/m", client)
    again = model_variant(sample_model_dir, tmp_path / "again", "again")  # the same tickets, a new version
    shutil.copy(sample_model_dir / HOLDOUT_NAME, again / HOLDOUT_NAME)

    with pytest.raises(GateRefused) as refused:
        publish(again, f"s3://{bucket}/m", client)

    assert str(refused.value) == (
        "refused: only 0 of the candidate's 72 held-out tickets are newer than what the published model "
        f"{version_of(sample_model_dir)} trained on (2024-12-23T02:07:19+00:00); 30 are needed to compare "
        "the two: publish when more tickets are in; publish anyway with --force"
    )


def test_a_candidate_without_held_out_questions_cannot_be_judged(
    s3_bucket: tuple[Any, str], sample_model_dir: Path, tmp_path: Path
) -> None:
    client, bucket = s3_bucket
    publish(sample_model_dir, f"s3://{bucket}/m", client)

    with pytest.raises(GateRefused, match=r"has no held-out questions to compare on .* train it again"):
        publish(write_model(tmp_path / "old", "old"), f"s3://{bucket}/m", client)


@pytest.mark.parametrize("value", ["2", "-0.1", "one"])
def test_max_drop_is_checked_before_anything_else(
    value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["publish", str(tmp_path), "s3://bucket/m", "--max-drop", value]) == 2

    err = capsys.readouterr().err
    assert err.startswith("error: argument --max-drop: must be ") and err.count("\n") == 1


def test_a_published_model_that_saw_newer_tickets_than_the_candidates_evaluated_one_is_named(
    worse_model: Path, sample_model_dir: Path, tmp_path: Path
) -> None:
    published = json.loads((sample_model_dir / MANIFEST_NAME).read_text())
    published["training_data"]["newest_created"] = "2024-10-01T00:00:00+00:00"  # after the candidate's 80 %
    candidate = parse_manifest((worse_model / MANIFEST_NAME).read_bytes())

    verdict = judge(
        worse_model,
        candidate,
        parse_manifest(json.dumps(published)),
        lambda _: sample_model_dir / "model.onnx",
    )

    until = candidate.extra["holdout"]["trained_until"]
    assert until < "2024-10-01" and verdict.kind == "compared" and not verdict.passed
    assert (
        "; the published model trained on tickets up to 2024-10-01T00:00:00+00:00, the candidate's evaluated "
        f"model only up to {until}, which favours the published one: `export train --test-since "
        "2024-10-01T00:00:00+00:00` compares them on equal terms"
    ) in verdict.reason


def test_chance_is_none_for_identical_answers_and_grows_with_disagreement() -> None:
    answers = [(True, True)] * 40 + [(False, True)] * 40 + [(True, False)] * 20
    opposite = [(not right, confident) for right, confident in answers]

    assert chance(answers, answers) == Chance(top1=0.0, precision=0.0)
    spread = chance(answers, opposite)
    assert spread.top1 == round(2 * statistics.stdev([1] * 60 + [-1] * 40) / 10, 4)  # paired, n = 100
    assert 0.15 < spread.precision < 0.25  # 2 × the spread of 2p - 1, p ~ binomial(80, ½) / 80
    assert chance(answers, opposite) == spread  # seeded: the same figures, the same verdict
