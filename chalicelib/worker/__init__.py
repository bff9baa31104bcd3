"""The worker function: answers each job once, posting where the question was asked.

Loaded only by the worker (and, in local mode, on a job's thread): it brings in onnxruntime,
numpy and slack_sdk's HTTP clients.
"""
