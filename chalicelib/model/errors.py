"""Why the worker has no model to answer with, one class per thing a user or operator does about it.

In a module of their own so that callers (the worker, `export ask`) can catch them without
importing the store's botocore or the predictor's onnxruntime.
"""

from __future__ import annotations


class ModelStoreError(Exception):
    """Any reason the worker cannot get a trustworthy model; the message is one loggable line."""


class ModelNotFound(ModelStoreError):
    """Nothing is published there (no bucket, no pointer, no model object, no folder)."""


class ModelUnreachable(ModelStoreError):
    """The store may hold a model but cannot be read now: network, timeout, credentials, access denied.

    AccessDenied lives here, not under ModelNotFound: S3 also answers 403 for a missing key when the
    caller may not list the bucket, so "denied" never proves absence, and the fix is the IAM role.
    """


class ModelCorrupt(ModelStoreError):
    """What was read cannot be trusted: an invalid manifest, or a model whose size or sha256 differs."""


class ModelLoadError(Exception):
    """The file is not a whoknows ONNX model this code can run."""


class ModelRejected(Exception):
    """The model loaded but does not match its manifest or this code's normaliser."""
