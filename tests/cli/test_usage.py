"""Mistakes on the command line are one line on stderr and a non-zero exit, never a traceback."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import threading
import time
from pathlib import Path

import httpx2
import pytest
from sqlalchemy import Engine

from kiban.cli.serve import tcp_listener
from kiban_command import kiban_server, run_kiban


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["nope"], "kiban: error: No such command 'nope'."),
        (["id", "validate", "personal"], "kiban: error: Missing argument 'VALUE'."),
        (["localgov", "list", "--format", "xml"], "kiban: error: Invalid value for '--format'"),
        (["serve", "--port", "0"], "kiban: error: Invalid value for '--port'"),
        (["serve", "--workers", "0"], "kiban: error: Invalid value for '--workers'"),
    ],
)
def test_usage_errors_are_one_line(arguments: list[str], message: str) -> None:
    result = run_kiban(*arguments)
    assert result.returncode == 2
    assert result.stderr.startswith(message)
    assert len(result.stderr.strip().splitlines()) == 1


def test_an_unreachable_database_is_one_line() -> None:
    result = run_kiban(
        "localgov",
        "list",
        environment={"KIBAN_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"},
    )
    assert result.returncode == 2
    assert result.stderr.startswith("kiban: error: database error:")
    assert "Traceback" not in result.stderr


def test_serve_answers_health_checks(engine: Engine, database_url: str) -> None:
    with kiban_server({"KIBAN_DATABASE_URL": database_url}) as served:
        response = httpx2.get(f"{served.url}/healthz", timeout=2)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
    assert response.headers["x-request-id"]


def test_serve_says_when_its_port_is_taken() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_kiban("serve", "--port", str(port))
    assert result.returncode == 2
    assert result.stderr.startswith(f"kiban: error: cannot listen on 127.0.0.1:{port}")
    assert "Traceback" not in result.stderr


def test_served_connections_send_small_responses_at_once() -> None:
    """Nagle's algorithm is off on every accepted connection: no ~40 ms wait per response."""
    listener = tcp_listener("127.0.0.1", 0)
    port = listener.getsockname()[1]
    options: list[int] = []

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            accepted = transport.get_extra_info("socket")
            options.append(accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    async def accept_one() -> None:
        server = await asyncio.get_running_loop().create_server(Probe, sock=listener)
        async with server:
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
            while not options:
                await asyncio.sleep(0.01)
            writer.close()

    # In a thread of its own: the browser tests' Playwright keeps an event loop in this one.
    probe = threading.Thread(target=asyncio.run, args=(accept_one(),))
    probe.start()
    probe.join(timeout=10)
    assert options == [1]


def _children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _established_connections(pid: int, port: int) -> int:
    """How many established TCP connections to ``port`` process ``pid`` holds (Linux /proc)."""
    inodes = set()
    for descriptor in Path(f"/proc/{pid}/fd").iterdir():
        target = os.readlink(descriptor)
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local_port, state, inode = int(fields[1].rsplit(":", 1)[1], 16), fields[3], fields[9]
            count += local_port == port and state == "01" and inode in inodes
    return count


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux's /proc")
def test_several_server_processes_share_the_connections(engine: Engine, database_url: str) -> None:
    """A proxy's few kept-alive connections reach every process, not just the first to wake."""
    with kiban_server({"KIBAN_DATABASE_URL": database_url}, workers=2) as served:
        port = int(served.url.rsplit(":", 1)[1])
        clients = [httpx2.Client(base_url=served.url) for _ in range(16)]
        try:
            for client in clients:
                assert client.get("/healthz").status_code == 200
            held = [_established_connections(child, port) for child in _children(served.pid)]
        finally:
            for client in clients:
                client.close()
    serving = [count for count in held if count]
    assert sum(held) == 16
    assert len(serving) == 2, f"connections per process: {held}"


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux's /proc")
def test_a_server_process_that_dies_is_replaced(engine: Engine, database_url: str) -> None:
    with kiban_server({"KIBAN_DATABASE_URL": database_url}, workers=2) as served:
        before = set(_children(served.pid))
        victim = next(
            child
            for child in before
            if b"resource_tracker" not in Path(f"/proc/{child}/cmdline").read_bytes()
        )
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while len(set(_children(served.pid)) - before) < 1:
            assert time.monotonic() < deadline, "no process replaced the one that died"
            time.sleep(0.2)
        for _ in range(8):  # whichever process each new connection reaches answers
            assert httpx2.get(f"{served.url}/healthz", timeout=5).status_code == 200
