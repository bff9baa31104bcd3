"""The API function: what it does with each Slack request within Slack's 3 seconds.

Verify, parse, answer at once or hand a job to the worker. Nothing here (or imported from here)
loads numpy or onnxruntime, and botocore only for the Lambda client that hands jobs over.
"""
