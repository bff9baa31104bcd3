"""The model the worker answers with: its manifest, where it is stored, how it is opened and kept
warm, and the team directory that says how to reach each team it predicts.

Only `predictor` (numpy, onnxruntime) and `ticket_index` (numpy) import more than the standard library
(plus botocore for an s3:// store), so code that only reads manifests stays light.
"""
