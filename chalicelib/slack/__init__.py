"""The Slack layer: verify what Slack sends, parse it, render answers, post them back.

One module per job so the API function imports only what it needs; `post` is the only module
that loads slack_sdk's HTTP clients. No numpy/onnxruntime here: this package is deployed to the
API function, whose cold start is benchmarked.
"""
