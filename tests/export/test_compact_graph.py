"""The compact graph gives scikit-learn's probabilities, for every shape of question and batch."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.pipeline import Pipeline

from chalicelib.model.predictor import Predictor
from chalicelib.text import normalize
from export.compact_graph import UnsupportedPipeline, build_compact_model, holds_in_half
from export.convert import to_onnx
from export.dataset import load_dataset
from export.parity import AWKWARD_INPUTS
from export.pipeline import ModelParams, build_pipeline, round_weights_to_half, training_rows
from export.sample import SAMPLE_TICKETS

TOLERANCE = 1e-5


def _fit(teams: set[str] | None = None, half: bool = False, **vectorizer_params: object) -> Pipeline:
    """`half`: the weights rounded as training rounds them (round_weights_to_half)."""
    data = load_dataset(SAMPLE_TICKETS, 5, False)
    keep = [i for i, team in enumerate(data.teams) if teams is None or team in teams]
    params = ModelParams(min_df=1, calibration_folds=2, n_jobs=1)
    rows = training_rows(
        [data.texts[i] for i in keep],
        [data.summaries[i] for i in keep],
        [data.lower_summaries[i] for i in keep],
        [data.teams[i] for i in keep],
        params,
    )
    pipeline = build_pipeline(params)
    pipeline.set_params(**{f"tfidf__{k}": v for k, v in vectorizer_params.items()})
    pipeline.fit(rows.texts, rows.labels, classifier__sample_weight=rows.weights)
    if half:
        round_weights_to_half(pipeline)
    return pipeline


class Compact:
    """The pipeline and its compact graph in an onnxruntime session."""

    def __init__(self, pipeline: Pipeline, tmp: Path) -> None:
        self.pipeline = pipeline
        self.labels = [str(c) for c in pipeline.classes_]
        path = tmp / "compact.onnx"
        path.write_bytes(build_compact_model(pipeline, self.labels).SerializeToString())
        self.session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    def run(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """The graph takes one question per run; a batch is looped, as Predictor does."""
        outputs = [
            self.session.run(["label", "probabilities"], {"text": np.array([[text]], dtype=object)})
            for text in texts
        ]
        return np.concatenate([o[0] for o in outputs]), np.concatenate([o[1] for o in outputs])

    def assert_agrees(self, texts: Sequence[str]) -> None:
        expected = self.pipeline.predict_proba(list(texts))
        label, actual = self.run(texts)
        assert actual.shape == expected.shape
        assert np.abs(actual - expected).max() <= TOLERANCE
        assert list(actual.argmax(axis=1)) == list(expected.argmax(axis=1))
        assert list(label) == [self.labels[i] for i in actual.argmax(axis=1)]


@pytest.fixture(scope="module")
def multiclass(tmp_path_factory: pytest.TempPathFactory) -> Compact:
    return Compact(_fit(), tmp_path_factory.mktemp("multiclass"))


@pytest.fixture(scope="module")
def sample_texts() -> list[str]:
    data = load_dataset(SAMPLE_TICKETS, 5, False)
    return data.texts + [s for s in data.summaries if s] + [normalize(t) for t in AWKWARD_INPUTS]


def test_agrees_with_scikit_learn_on_every_sample_ticket_in_one_batch(
    multiclass: Compact, sample_texts: list[str]
) -> None:
    multiclass.assert_agrees(sample_texts)


def test_agrees_one_question_at_a_time(multiclass: Compact, sample_texts: list[str]) -> None:
    for text in sample_texts[::7]:
        multiclass.assert_agrees([text])


def test_the_graph_takes_one_question_and_the_predictor_loops_over_batches(
    multiclass: Compact, sample_texts: list[str], tmp_path: Path
) -> None:
    two = np.array([["refund"], ["kafka"]], dtype=object)
    with pytest.raises(Exception, match="dimensions"):
        multiclass.session.run(["probabilities"], {"text": two})
    path = tmp_path / "model.onnx"
    path.write_bytes(to_onnx(multiclass.pipeline, multiclass.labels, "v1").SerializeToString())
    batch = sample_texts[:40]
    assert (
        np.abs(Predictor(path).probabilities(batch) - multiclass.pipeline.predict_proba(batch)).max()
        <= TOLERANCE
    )
    assert Predictor(path).probabilities([]).shape == (0, len(multiclass.labels))


def test_repeated_words_count_once_as_in_binary_tf(multiclass: Compact) -> None:
    once, repeated = "refund invoice vat", "refund refund invoice vat vat vat refund"
    probabilities = multiclass.run([once, repeated])[1]
    assert np.allclose(probabilities[0], probabilities[1], atol=TOLERANCE)
    multiclass.assert_agrees([once, repeated])


def test_a_question_without_known_words_gets_the_intercept_only_answer(multiclass: Compact) -> None:
    multiclass.assert_agrees(["", "zzqx", "zzqx qqzz xxyy"])


words = st.sampled_from(["refund", "invoice", "kafka", "login", "sso", "ios", "index", "zzqx", "the", "a1"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(words, max_size=30).map(" ".join), min_size=1, max_size=6))
def test_any_batch_of_normalised_questions_agrees(multiclass: Compact, batch: list[str]) -> None:
    multiclass.assert_agrees(batch)


def test_two_teams_use_the_single_decision_column(tmp_path: Path) -> None:
    compact = Compact(_fit({"PAYMENTS", "MOBILE"}), tmp_path)
    data = load_dataset(SAMPLE_TICKETS, 5, False)
    compact.assert_agrees([*data.texts, "", "refund on ios app"])
    assert compact.run(["refund"])[1].shape == (1, 2)


def test_unigram_only_vectorizer_agrees(tmp_path: Path, sample_texts: list[str]) -> None:
    Compact(_fit(ngram_range=(1, 1)), tmp_path).assert_agrees(sample_texts)


@pytest.mark.parametrize(
    "change",
    [{"sublinear_tf": True}, {"lowercase": True}, {"binary": False}, {"ngram_range": (1, 3)}, {"norm": "l1"}],
)
def test_settings_it_cannot_reproduce_are_refused(change: dict[str, object]) -> None:
    pipeline = _fit({"PAYMENTS", "MOBILE", "DATA"}, **change)
    with pytest.raises(UnsupportedPipeline):
        build_compact_model(pipeline, [str(c) for c in pipeline.classes_])


# --- weights rounded to float16 ----------------------------------------------------------------------


def _initializer_types(pipeline: Pipeline) -> dict[str, int]:
    model = build_compact_model(pipeline, [str(c) for c in pipeline.classes_])
    return {t.name: t.data_type for t in model.graph.initializer}


@pytest.mark.parametrize("teams", [None, {"PAYMENTS", "MOBILE"}], ids=["six teams", "two teams"])
def test_rounded_weights_ship_as_float16_and_agree_exactly(
    teams: set[str] | None, sample_texts: list[str], tmp_path: Path
) -> None:
    pipeline = _fit(teams, half=True)
    types = _initializer_types(pipeline)
    assert types["team_weights_half"] == onnx.TensorProto.FLOAT16
    assert types["squared_idf"] == onnx.TensorProto.FLOAT  # the norm stays scikit-learn's
    assert "weights" not in types
    Compact(pipeline, tmp_path).assert_agrees(sample_texts)


def test_weights_beyond_float16s_range_are_not_held() -> None:
    assert holds_in_half(np.array([[0.5, -2.0], [0.0, 1024.0]], dtype=np.float32))
    assert not holds_in_half(np.array([[0.5, 70000.0]], dtype=np.float32))  # float16 tops out at 65504
    assert not holds_in_half(np.array([[0.1]], dtype=np.float32))  # rounds


def test_weights_float16_cannot_hold_stay_float32(multiclass: Compact) -> None:
    types = _initializer_types(multiclass.pipeline)
    assert types["weights"] == onnx.TensorProto.FLOAT
    assert "team_weights_half" not in types


def test_rounding_moves_probabilities_far_less_than_a_ranking_needs(sample_texts: list[str]) -> None:
    exact, rounded = _fit(), _fit(half=True)
    before, after = exact.predict_proba(sample_texts), rounded.predict_proba(sample_texts)
    assert 0 < np.abs(after - before).max() < 1e-3
    assert list(after.argmax(axis=1)) == list(before.argmax(axis=1))


def test_the_half_precision_graph_is_smaller(tmp_path: Path) -> None:
    exact, rounded = _fit(), _fit(half=True)
    sizes = [
        len(build_compact_model(p, [str(c) for c in p.classes_]).SerializeToString())
        for p in (exact, rounded)
    ]
    assert sizes[1] < sizes[0]


def test_graph_costs_per_word_not_per_vocabulary_term(multiclass: Compact) -> None:
    model = build_compact_model(multiclass.pipeline, multiclass.labels)
    ops = {node.op_type for node in model.graph.node}
    assert not ops & {"TfIdfVectorizer", "LinearClassifier", "StringNormalizer", "MatMul", "ScatterND"}
    assert {"StringSplit", "LabelEncoder", "Gather", "Unique"} <= ops
    onnx.checker.check_model(model, full_check=True)


def test_ranking_outputs_sort_every_team_like_a_stable_argsort(
    multiclass: Compact, sample_texts: list[str]
) -> None:
    for text in sample_texts[::5]:
        probabilities, ranked, ranking = multiclass.session.run(
            ["probabilities", "ranked", "ranking"], {"text": np.array([[text]], dtype=object)}
        )
        assert np.array_equal(ranking, np.argsort(-probabilities, axis=1, kind="stable"))
        assert np.array_equal(ranked, np.take_along_axis(probabilities, ranking, axis=1))


@pytest.mark.parametrize("half", [False, True], ids=["float32", "float16"])
@pytest.mark.parametrize(
    ("teams", "ngrams"), [(None, (1, 2)), ({"PAYMENTS", "MOBILE"}, (1, 2)), ({"PAYMENTS", "MOBILE"}, (1, 1))]
)
def test_every_constant_is_used_by_a_node(
    teams: set[str] | None, ngrams: tuple[int, int], half: bool
) -> None:
    """Unused initializers make onnxruntime warn at every load."""
    pipeline = _fit(teams, half, ngram_range=ngrams)
    model = build_compact_model(pipeline, [str(c) for c in pipeline.classes_])
    used = {name for node in model.graph.node for name in node.input}
    assert [t.name for t in model.graph.initializer if t.name not in used] == []


# --- why: each term's part of the top team's score ------------------------------------------------


def _predictor(pipeline: Pipeline, tmp: Path) -> Predictor:
    labels = [str(c) for c in pipeline.classes_]
    path = tmp / "explained.onnx"
    path.write_bytes(to_onnx(pipeline, labels, "test").SerializeToString())
    return Predictor(path)


def _decision_parts(pipeline: Pipeline) -> tuple[np.ndarray, np.ndarray, Any]:
    """Platt's slopes, the linear model's intercepts and its decision function, from scikit-learn."""
    calibrated = pipeline.named_steps["classifier"].calibrated_classifiers_[0]
    slopes = np.array([c.a_ for c in calibrated.calibrators])
    estimator = calibrated.estimator
    return slopes, np.asarray(estimator.intercept_).reshape(-1), estimator.decision_function


@pytest.mark.parametrize("half", [False, True], ids=["float32", "float16"])
@pytest.mark.parametrize("teams", [None, {"PAYMENTS", "MOBILE"}], ids=["six teams", "two teams"])
def test_term_scores_plus_the_intercept_are_scikit_learns_decision_function(
    teams: set[str] | None, half: bool, sample_texts: list[str], tmp_path: Path
) -> None:
    pipeline = _fit(teams, half)
    predictor = _predictor(pipeline, tmp_path)
    slopes, intercepts, decision_function = _decision_parts(pipeline)
    vectors = pipeline.named_steps["tfidf"].transform(sample_texts)
    decisions = decision_function(vectors).reshape(len(sample_texts), -1)
    for row, text in enumerate(sample_texts):
        explained = predictor.explain(text)
        top = predictor.labels.index(explained.guesses[0].label)
        column, sign = (0, 1.0 if top == 1 else -1.0) if len(predictor.labels) == 2 else (top, 1.0)
        # A term's score is its part of the top team's logit, -(a * decision + b): back to decision units.
        parts = sum(term.score for term in explained.terms) * sign / -slopes[column]
        assert parts + intercepts[column] == pytest.approx(decisions[row, column], abs=1e-4)


def test_terms_name_the_question_words_they_come_from(multiclass: Compact, tmp_path: Path) -> None:
    predictor = _predictor(multiclass.pipeline, tmp_path)
    explained = predictor.explain("Refund for the VAT invoice zzqx")
    assert explained.tokens == ["refund", "for", "the", "vat", "invoice", "zzqx"]
    assert explained.known_words == 5  # zzqx is no term of the model
    phrases = [" ".join(explained.tokens[t.start : t.end]) for t in explained.terms]
    assert "zzqx" not in " ".join(phrases) and len(phrases) == len(set(phrases))
    assert explained.terms == sorted(explained.terms, key=lambda t: -t.score)
    assert explained.guesses[0].label == "PAYMENTS" and explained.terms[0].score > 0


def test_a_question_of_unknown_words_knows_none(multiclass: Compact, tmp_path: Path) -> None:
    predictor = _predictor(multiclass.pipeline, tmp_path)
    for question in ("", "🔥🔥", "zzqx qqzz"):
        explained = predictor.explain(question)
        assert explained.known_words == 0 and explained.terms == []
