"""scikit-learn pipeline -> ONNX, in one of two graphs, both held to the same parity gate.

- "compact" (default, export/compact_graph.py): cost grows with the question's words, not the
  vocabulary; ~25x faster per question and a fraction of the memory of the skl2onnx graph.
- "skl2onnx": skl2onnx's own conversion, kept as the independent reference (and a fallback should a
  future pipeline change be one the compact graph does not reproduce). Its tokeniser is told to
  split on single spaces only (`separators=[" "]`, no regex): the text arrives already normalised
  by chalicelib.text, so the graph needs no StringNormalizer, which needs the en_US.UTF-8 locale
  that Lambda lacks.
"""

from __future__ import annotations

import json
from typing import Literal

import onnx
from sklearn.pipeline import Pipeline

from chalicelib.model.predictor import INPUT_NAME, LABEL_OUTPUT, LABELS_KEY, PROBABILITIES_OUTPUT, VERSION_KEY
from chalicelib.text import NORMALIZER_VERSION

Graph = Literal["compact", "skl2onnx"]
GRAPHS: tuple[Graph, ...] = ("compact", "skl2onnx")
GRAPH_KEY = "whoknows.graph"

# Ops that would tie the model to a locale or to a tokenising regex that differs from Python's.
FORBIDDEN_OPS = frozenset({"StringNormalizer", "RegexFullMatch"})


class ConversionError(Exception):
    pass


def _skl2onnx_graph(pipeline: Pipeline) -> onnx.ModelProto:
    from skl2onnx import convert_sklearn, update_registered_converter
    from skl2onnx.common.data_types import StringTensorType
    from skl2onnx.common.shape_calculator import calculate_linear_classifier_output_shapes
    from skl2onnx.operator_converters.linear_classifier import convert_sklearn_linear_classifier
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.feature_extraction.text import TfidfVectorizer

    from export.team_svm import TeamLinearSVC

    # A TeamLinearSVC is a LinearSVC: converted as one, under LinearSVC's alias and options.
    update_registered_converter(
        TeamLinearSVC,
        "SklearnLinearSVC",
        calculate_linear_classifier_output_shapes,
        convert_sklearn_linear_classifier,
        options={"nocl": [True, False], "output_class_labels": [False, True], "raw_scores": [True, False]},
    )
    return convert_sklearn(
        pipeline,
        initial_types=[(INPUT_NAME, StringTensorType([None, 1]))],
        options={
            TfidfVectorizer: {"tokenexp": None, "separators": [" "]},
            TeamLinearSVC: {},  # skl2onnx 1.20 raises NameError inside a Pipeline without an entry
            CalibratedClassifierCV: {"zipmap": False},
        },
    )


def to_onnx(
    pipeline: Pipeline,
    labels: list[str],
    version: str,
    graph: Graph = "compact",
    extra_metadata: dict[str, str] | None = None,
) -> onnx.ModelProto:
    """The ONNX model with whoknows' metadata: labels, version, graph, normaliser version and any
    `extra_metadata` (the expander's word lists, chalicelib.model.expand)."""
    if graph == "compact":
        from export.compact_graph import UnsupportedPipeline, build_compact_model

        try:
            model = build_compact_model(pipeline, labels)
        except UnsupportedPipeline as error:
            raise ConversionError(f"compact graph: {error}") from None
    elif graph == "skl2onnx":
        model = _skl2onnx_graph(pipeline)
    else:
        raise ConversionError(f"unknown graph {graph!r}; choose one of {', '.join(GRAPHS)}")
    used = {node.op_type for node in model.graph.node}
    if used & FORBIDDEN_OPS:
        raise ConversionError(f"converted graph uses {sorted(used & FORBIDDEN_OPS)}, which Lambda cannot run")
    outputs = [output.name for output in model.graph.output]
    if outputs[:2] != [LABEL_OUTPUT, PROBABILITIES_OUTPUT]:
        raise ConversionError(f"unexpected ONNX outputs {outputs}")
    model.producer_name = "whoknows"
    model.doc_string = "whoknows: question (normalised text) -> team probabilities"
    for key, value in {
        LABELS_KEY: json.dumps(labels),
        VERSION_KEY: version,
        GRAPH_KEY: graph,
        "whoknows.normalizer_version": NORMALIZER_VERSION,
        **(extra_metadata or {}),
    }.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    return model
