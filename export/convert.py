"""scikit-learn pipeline -> ONNX, with the options that make the conversion exact.

The tokeniser is told to split on single spaces only (`separators=[" "]`, no regex): the text
arrives already normalised by chalicelib.text, so the graph needs no StringNormalizer, which would
need the en_US.UTF-8 locale that Lambda lacks.
"""

from __future__ import annotations

import json

import onnx
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import StringTensorType
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC

from chalicelib.predictor import INPUT_NAME, LABELS_KEY, VERSION_KEY
from chalicelib.text import NORMALIZER_VERSION

# Ops that would tie the model to a locale or to a tokenising regex that differs from Python's.
FORBIDDEN_OPS = frozenset({"StringNormalizer", "RegexFullMatch"})


class ConversionError(Exception):
    pass


def to_onnx(pipeline: Pipeline, labels: list[str], version: str) -> onnx.ModelProto:
    model = convert_sklearn(
        pipeline,
        initial_types=[(INPUT_NAME, StringTensorType([None, 1]))],
        options={
            TfidfVectorizer: {"tokenexp": None, "separators": [" "]},
            LinearSVC: {},  # skl2onnx 1.20 raises NameError inside a Pipeline without an entry
            CalibratedClassifierCV: {"zipmap": False},
        },
    )
    used = {node.op_type for node in model.graph.node}
    if used & FORBIDDEN_OPS:
        raise ConversionError(f"converted graph uses {sorted(used & FORBIDDEN_OPS)}, which Lambda cannot run")
    outputs = [output.name for output in model.graph.output]
    if outputs != ["label", "probabilities"]:
        raise ConversionError(f"unexpected ONNX outputs {outputs}")
    model.producer_name = "whoknows"
    model.doc_string = "whoknows: question (normalised text) -> team probabilities"
    for key, value in {
        LABELS_KEY: json.dumps(labels),
        VERSION_KEY: version,
        "whoknows.normalizer_version": NORMALIZER_VERSION,
    }.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    return model
