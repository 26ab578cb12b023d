"""A kiban app served by a real uvicorn on a free port of 127.0.0.1, for tests that need a
real network hop: browsers, other HTTP client libraries, the ``kiban`` command."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from kiban.core.network import tcp_listener


def listen() -> tuple[socket.socket, str]:
    """A bound socket and its URL, known before the app is built (its public URL)."""
    listener = tcp_listener("127.0.0.1", 0)
    return listener, f"http://127.0.0.1:{listener.getsockname()[1]}"


@contextmanager
def serving(app: ASGIApp, listener: socket.socket, **options: Any) -> Iterator[None]:
    """Serve ``app`` on ``listener`` in a background thread until the block ends; ``options``
    go to uvicorn (TLS, say)."""
    # lifespan off: the engine belongs to the test session, so shutdown must not dispose of it.
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning", **options))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()
