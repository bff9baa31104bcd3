"""The fitted pipeline as a compact ONNX graph whose cost grows with the question, not the vocabulary.

skl2onnx's graph for TF-IDF + linear model computes a dense vector as long as the vocabulary
(~190k on real data) and multiplies it by every class's weights: ~1.2 ms and ~170 MB per worker.
A question has a dozen words, so this graph does only what those words need:

    split on " " -> word ids (LabelEncoder) -> unigram and bigram feature ids (unknown -> a zero row)
    -> distinct terms (binary TF) -> gather rows of idf-scaled class weights, sum them
    -> divide by the L2 norm of the idf vector -> + intercept -> Platt sigmoid per class -> normalise
       (Platt's slope is folded into the weights and the intercept into its offset)

It is the same arithmetic scikit-learn does (TfidfVectorizer binary=True, norm="l2"; LinearSVC
one-vs-rest; CalibratedClassifierCV sigmoid, ensemble=False), regrouped: (idf / norm) . w equals
(idf . w) / norm. The parity gate (export/parity.py) holds it to scikit-learn's answers like any
other conversion. Plain ONNX ops only: no StringNormalizer (needs a locale Lambda lacks), no regex.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import Pipeline

from chalicelib.model.predictor import (
    FEATURE_IDS_OUTPUT,
    INPUT_NAME,
    LABEL_OUTPUT,
    PROBABILITIES_OUTPUT,
    RANKED_OUTPUT,
    RANKING_OUTPUT,
    TERM_IDS_OUTPUT,
    TERM_SCORES_OUTPUT,
    UNKNOWN_TERM_KEY,
)

UNKNOWN_NORM_SQUARED = 1e-30
"""What the unknown term adds to a question's squared norm. A question with no known term then
scores 0 / 1e-15 = 0 (scikit-learn's zero vector) instead of 0 / 0; with one, the sum is at least
1 (idf >= 1), far above what adding 1e-30 can change in float32, so the norm is scikit-learn's."""

OPSETS = {"": 20, "ai.onnx.ml": 3}  # StringSplit needs opset 20; LabelEncoder v2 (int64 keys) is ml 2-3


class UnsupportedPipeline(ValueError):
    """The pipeline is not one this graph reproduces exactly; the message says what differs."""


def _check_vectorizer(vectorizer: TfidfVectorizer) -> None:
    wanted = {
        "analyzer": "word",
        "lowercase": False,
        "token_pattern": r"\S+",
        "tokenizer": None,
        "preprocessor": None,
        "stop_words": None,
        "binary": True,
        "norm": "l2",
        "use_idf": True,
        "sublinear_tf": False,
    }
    params = vectorizer.get_params()
    differs = {k: params[k] for k, v in wanted.items() if params[k] != v}
    if differs or vectorizer.ngram_range[0] != 1 or vectorizer.ngram_range[1] not in (1, 2):
        raise UnsupportedPipeline(f"TF-IDF settings the compact graph does not reproduce: {differs}")


def linear_parts(
    classifier: CalibratedClassifierCV,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(coef [k, V], intercept [k], platt_a [k], platt_b [k]); k = 1 for two classes."""
    if not isinstance(classifier, CalibratedClassifierCV) or classifier.method != "sigmoid":
        raise UnsupportedPipeline("expected CalibratedClassifierCV(method='sigmoid')")
    if len(classifier.calibrated_classifiers_) != 1:
        raise UnsupportedPipeline("expected ensemble=False (one linear model)")
    calibrated = classifier.calibrated_classifiers_[0]
    estimator = calibrated.estimator
    if list(estimator.classes_) != list(classifier.classes_):
        raise UnsupportedPipeline("estimator and calibrator disagree on the class order")
    coef = np.asarray(estimator.coef_, dtype=np.float64)
    intercept = np.asarray(estimator.intercept_, dtype=np.float64).reshape(-1)
    a = np.array([c.a_ for c in calibrated.calibrators], dtype=np.float64)
    b = np.array([c.b_ for c in calibrated.calibrators], dtype=np.float64)
    if not (coef.shape[0] == intercept.shape[0] == a.shape[0] == b.shape[0]):
        raise UnsupportedPipeline("one calibrator per decision column expected")
    return coef, intercept, a, b


def scaled_weights(coef: np.ndarray, idf: np.ndarray, platt_a: np.ndarray) -> np.ndarray:
    """[terms, columns] float32: each term's idf-scaled weight per decision column, times Platt's
    -a, as the graph stores it."""
    return ((coef * idf).T * -platt_a).astype(np.float32)


def holds_in_half(weights: np.ndarray) -> bool:
    """Whether float16 stores these float32 weights exactly (none beyond its range)."""
    with np.errstate(over="ignore"):
        half = weights.astype(np.float16)
    return bool(np.isfinite(half).all() and np.array_equal(half.astype(np.float32), weights))


def _split_vocabulary(vocabulary: dict[str, int]) -> tuple[list[str], np.ndarray, list[int], list[int]]:
    """Words, each word's unigram feature (or the unknown row), and bigram features keyed by
    `left_word_id * (words + 1) + right_word_id`. Words of bigrams are kept even when the word
    alone is not a feature (possible with max_df), so every bigram stays reachable."""
    unknown = len(vocabulary)
    words = sorted({word for term in vocabulary for word in term.split(" ")})
    word_id = {word: i for i, word in enumerate(words)}
    unigram_of_word = np.full(len(words) + 1, unknown, dtype=np.int64)
    bigram_keys: list[int] = []
    bigram_values: list[int] = []
    stride = len(words) + 1
    for term, feature in vocabulary.items():
        parts = term.split(" ")
        if len(parts) == 1:
            unigram_of_word[word_id[term]] = feature
        else:
            left, right = parts
            bigram_keys.append(word_id[left] * stride + word_id[right])
            bigram_values.append(feature)
    return words, unigram_of_word, bigram_keys, bigram_values


def _const(name: str, value: np.ndarray) -> TensorProto:
    return numpy_helper.from_array(value, name=name)


def build_compact_model(pipeline: Pipeline, labels: list[str]) -> onnx.ModelProto:
    """The ONNX model: input `text` [1, 1], one normalised question; outputs `label` [1],
    `probabilities` [1, teams] float32 in `labels` order, and `ranked`/`ranking` [1, teams]: the
    same probabilities sorted, most likely first, with their team indices.

    Three more outputs say why, from the tensors the scores are summed from: `feature_ids`
    [1, 1, 2 * words] holds each word's unigram id, then each pair's bigram id, then the unknown id
    (which every term outside the vocabulary also gets); `term_ids` [terms] the distinct ids among
    them, and `term_scores` [terms, columns + 1] each term's part of every decision column's logit
    (the last column is the term's share of the squared norm). A column's logit is the sum of its
    term scores plus its bias. The unknown id is in the metadata (`whoknows.unknown_term`).

    One question per run, because that is what the worker asks: a batch dimension costs the
    graph a dozen more nodes (row offsets, scatter-add) and ~15 % of its time. Offline batches
    loop (chalicelib.model.predictor.Predictor.probabilities)."""
    vectorizer, classifier = pipeline.named_steps["tfidf"], pipeline.named_steps["classifier"]
    _check_vectorizer(vectorizer)
    if [str(c) for c in classifier.classes_] != list(labels):
        raise UnsupportedPipeline("labels must be the classifier's classes, in its order")
    coef, intercept, platt_a, platt_b = linear_parts(classifier)
    binary = len(labels) == 2
    vocabulary: dict[str, int] = vectorizer.vocabulary_
    size = len(vocabulary)
    unknown = size  # index of the row every out-of-vocabulary term maps to: zero scores
    idf = np.asarray(vectorizer.idf_, dtype=np.float64)

    # Row j: idf_j * w_j for every decision column, already multiplied by Platt's -a (so the graph
    # needs no separate scaling), then idf_j^2 in the last column for the norm. Row `size` (the
    # unknown term, in every sum) scores zero and adds UNKNOWN_NORM_SQUARED to the norm.
    columns = coef.shape[0]
    weights = np.zeros((size + 1, columns + 1), dtype=np.float32)
    weights[:size, :columns] = scaled_weights(coef, idf, platt_a)
    weights[:size, columns] = idf.astype(np.float32) ** 2
    weights[size, columns] = UNKNOWN_NORM_SQUARED
    # Weights that float16 holds exactly (export.pipeline.round_weights_to_half) are stored as
    # float16, half the size; the norm column stays float32 so the norm is scikit-learn's.
    half = holds_in_half(weights[:, :columns])
    bias = -platt_a * intercept - platt_b  # logit = -(a * (score + intercept) + b)
    words, unigram_of_word, bigram_keys, bigram_values = _split_vocabulary(vocabulary)

    i64 = lambda *values: np.array(values, dtype=np.int64)  # noqa: E731
    initializers = [
        _const("zero", i64(0)),
        _const("one", i64(1)),
        _const("minus_one", i64(-1)),
        _const("axis_1", i64(1)),
        _const("last_axis", i64(-1)),
        _const("big", i64(np.iinfo(np.int64).max)),
        _const("word_stride", i64(len(words) + 1)),
        _const("unigram_of_word", unigram_of_word),
        _const("unknown_id", np.full((1, 1, 1), unknown, dtype=np.int64)),
        _const("weights", weights),
        _const("team_weights_half", weights[:, :columns].astype(np.float16)),
        _const("squared_idf", weights[:, columns:]),
        _const("columns", i64(columns)),
        _const("columns_and_norm", i64(columns + 1)),
        _const("bias", bias.astype(np.float32)),
        _const("zero_f", np.array(0.0, dtype=np.float32)),
        _const("uniform", np.array(1.0 / len(labels), dtype=np.float32)),
        _const("one_f", np.array(1.0, dtype=np.float32)),
        _const("label_names", np.array(labels, dtype=object)),
        _const("team_count", i64(len(labels))),
    ]
    node = helper.make_node
    nodes = [
        # Words, [1, 1, words] ("" for an empty question, never a vocabulary term).
        node("StringSplit", [INPUT_NAME], ["words", "word_counts"], delimiter=" "),
    ]
    nodes += [
        node(
            "LabelEncoder",
            ["words"],
            ["word_ids"],
            domain="ai.onnx.ml",
            keys_strings=words,
            values_int64s=list(range(len(words))),
            default_int64=len(words),
        ),
        node("Gather", ["unigram_of_word", "word_ids"], ["unigram_ids"], axis=0),
    ]
    term_tensors = ["unigram_ids"]
    if bigram_keys:
        # A bigram is looked up by its two word ids, not by its text: 170k integer keys take a
        # fraction of the memory of 170k strings, and no string concatenation is needed.
        nodes += [
            node("Slice", ["word_ids", "zero", "minus_one", "last_axis"], ["left_ids"]),
            node("Slice", ["word_ids", "one", "big", "last_axis"], ["right_ids"]),
            node("Mul", ["left_ids", "word_stride"], ["left_keys"]),
            node("Add", ["left_keys", "right_ids"], ["word_pairs"]),
            node(
                "LabelEncoder",
                ["word_pairs"],
                ["bigram_ids"],
                domain="ai.onnx.ml",
                keys_int64s=bigram_keys,
                values_int64s=bigram_values,
                default_int64=unknown,
            ),
        ]
        term_tensors = ["unigram_ids", "bigram_ids"]
    nodes += [
        # Binary TF: each term counts once (Unique flattens). The unknown id is appended so the list
        # is never empty and the norm never zero.
        node("Concat", [*term_tensors, "unknown_id"], [FEATURE_IDS_OUTPUT], axis=-1),
        node("Unique", [FEATURE_IDS_OUTPUT], [TERM_IDS_OUTPUT], sorted=0),
        # Sum the weight rows (and idf^2, the last column) of the distinct terms.
    ]
    if half:
        nodes += [
            node("Gather", ["team_weights_half", TERM_IDS_OUTPUT], ["term_team_weights_half"], axis=0),
            node("Cast", ["term_team_weights_half"], ["term_team_weights"], to=TensorProto.FLOAT),
            node("Gather", ["squared_idf", TERM_IDS_OUTPUT], ["term_squared_idf"], axis=0),
            node("Concat", ["term_team_weights", "term_squared_idf"], ["term_weights"], axis=1),
        ]
    else:
        nodes.append(node("Gather", ["weights", TERM_IDS_OUTPUT], ["term_weights"], axis=0))
    nodes += [
        node("ReduceSum", ["term_weights", "zero"], ["sums"], keepdims=1),
        node("Slice", ["sums", "zero", "columns", "axis_1"], ["raw_scores"]),
        node("Slice", ["sums", "columns", "columns_and_norm", "axis_1"], ["squared_norms"]),
        node("Sqrt", ["squared_norms"], ["norms"]),
        node("Div", ["raw_scores", "norms"], ["scores"]),  # no known term: 0 / 1e-15 = 0
        node("Div", ["term_weights", "norms"], [TERM_SCORES_OUTPUT]),  # why: each term's part
        # Platt scaling, as sklearn's _SigmoidCalibration: expit(-(a * decision + b)).
        node("Add", ["scores", "bias"], ["logits"]),
        node("Sigmoid", ["logits"], ["calibrated"]),
    ]
    if binary:
        nodes += [
            node("Sub", ["one_f", "calibrated"], ["negative"]),
            node("Concat", ["negative", "calibrated"], [PROBABILITIES_OUTPUT], axis=1),
        ]
    else:
        nodes += [
            node("ReduceSum", ["calibrated", "one"], ["totals"], keepdims=1),
            node("Div", ["calibrated", "totals"], ["shares"]),
            node("Equal", ["totals", "zero_f"], ["all_zero"]),
            node("Where", ["all_zero", "uniform", "shares"], [PROBABILITIES_OUTPUT]),
        ]
    nodes += [
        node("ArgMax", [PROBABILITIES_OUTPUT], ["best"], axis=1, keepdims=0),
        node("Gather", ["label_names", "best"], [LABEL_OUTPUT], axis=0),
        # Every team, most likely first (ties: lower index first, as a stable argsort), so the
        # worker ranks without a numpy sort of its own.
        node("TopK", [PROBABILITIES_OUTPUT, "team_count"], [RANKED_OUTPUT, RANKING_OUTPUT], axis=1, sorted=1),
    ]
    used = {name for n in nodes for name in n.input}  # constants a variant (2 teams, no bigrams) skips
    initializers = [constant for constant in initializers if constant.name in used]
    graph = helper.make_graph(
        nodes,
        "whoknows_compact",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.STRING, [1, 1])],
        [
            helper.make_tensor_value_info(LABEL_OUTPUT, TensorProto.STRING, [1]),
            helper.make_tensor_value_info(PROBABILITIES_OUTPUT, TensorProto.FLOAT, [1, len(labels)]),
            helper.make_tensor_value_info(RANKED_OUTPUT, TensorProto.FLOAT, [1, len(labels)]),
            helper.make_tensor_value_info(RANKING_OUTPUT, TensorProto.INT64, [1, len(labels)]),
            helper.make_tensor_value_info(FEATURE_IDS_OUTPUT, TensorProto.INT64, [1, 1, None]),
            helper.make_tensor_value_info(TERM_IDS_OUTPUT, TensorProto.INT64, [None]),
            helper.make_tensor_value_info(TERM_SCORES_OUTPUT, TensorProto.FLOAT, [None, columns + 1]),
        ],
        initializer=initializers,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid(domain, version) for domain, version in OPSETS.items()]
    )
    model.ir_version = 9  # onnxruntime >= 1.16 reads it; newer IRs would need a newer runtime
    entry = model.metadata_props.add()
    entry.key, entry.value = UNKNOWN_TERM_KEY, str(unknown)
    onnx.checker.check_model(model, full_check=True)
    return model
