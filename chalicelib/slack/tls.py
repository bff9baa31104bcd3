"""The one TLS context every post to Slack uses.

slack_sdk's clients, given no context, leave it to urllib, whose first HTTPS request builds one by
loading the system's CA bundle: ~30 ms of a worker's cold start (bench.serving (d)), spent while
the answer waits. Built here once, the worker can build it on a thread while the model loads
(OpenSSL reads the bundle without holding the GIL), and every later post reuses it.
"""

from __future__ import annotations

import ssl
import threading

_lock = threading.Lock()
_context: ssl.SSLContext | None = None


def tls_context() -> ssl.SSLContext:
    """Verifies certificates and host names against the default CA bundle (honours SSL_CERT_FILE)."""
    global _context
    with _lock:
        if _context is None:
            context = ssl.create_default_context()
            context.set_alpn_protocols(["http/1.1"])  # as urllib's own default context does
            _context = context
        return _context
