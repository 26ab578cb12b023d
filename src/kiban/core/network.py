"""Listening sockets for kiban's servers: ``kiban serve`` and the mesh gateways."""

from __future__ import annotations

import socket


def tcp_listener(host: str, port: int, *, shared_port: bool = False) -> socket.socket:
    """A bound TCP socket whose accepted connections get ``TCP_NODELAY``.

    asyncio turns Nagle's algorithm off only on sockets that report ``IPPROTO_TCP``, and a
    socket made without naming the protocol reports 0, as the one uvicorn binds for several
    workers does (uvicorn issue #3149).  Its connections then wait on the client's delayed
    acknowledgement, about 40 ms, before each response of a kept-alive connection.

    With ``shared_port`` (``SO_REUSEPORT``), each server process binds a socket of its own to
    the same port and the kernel spreads new connections over them evenly.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if shared_port:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    listener.bind((host, port))
    return listener
