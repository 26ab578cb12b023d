"""Mistakes on the command line are one line on stderr and a non-zero exit, never a traceback."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import threading
import time
from pathlib import Path

import httpx2
import pytest
from sqlalchemy import Engine

from kiban.cli import COMMANDS
from kiban.core.network import tcp_listener
from kiban_command import Served, kiban_server, run_kiban, run_kiban_in_process


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
    result = run_kiban_in_process(*arguments)
    assert result.returncode == 2
    assert result.stderr.startswith(message)
    assert len(result.stderr.strip().splitlines()) == 1


def test_help_lists_every_command_and_each_one_loads() -> None:
    listed = run_kiban("--help")  # in a process of its own: the list imports no command
    assert listed.returncode == 0, listed.stderr
    for name, command in COMMANDS.items():
        assert re.search(rf"│ {name} +{re.escape(command.help.split()[0])} ", listed.stdout), name
        shown = run_kiban_in_process(name, "--help")
        assert shown.returncode == 0, shown.stderr
        assert f"Usage: kiban {name} " in shown.stdout


def test_an_unreachable_database_is_one_line() -> None:
    # In a process of its own, as every command group has a test: no traceback, end to end.
    result = run_kiban(
        "localgov",
        "list",
        environment={"KIBAN_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"},
    )
    assert result.returncode == 2
    assert result.stderr.startswith("kiban: error: database error:")
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("KIBAN_STAFF_IDLE_MINUTES", "0", "greater than or equal to 1"),
        ("KIBAN_OIDC_TOKEN_LIMIT_PER_IP", "many", "valid integer"),
    ],
)
def test_an_invalid_setting_is_one_line_naming_it(setting: str, value: str, message: str) -> None:
    result = run_kiban("serve", "--port", "1", environment={setting: value})
    assert result.returncode == 2
    assert result.stderr.startswith(f"kiban: error: invalid setting {setting}: ")
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


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
        result = run_kiban_in_process("serve", "--port", str(port))
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


ESTABLISHED, LISTEN = "01", "0A"  # TCP states as /proc/net/tcp writes them


def _children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _sockets(pid: int, port: int, state: str) -> int:
    """How many TCP sockets on local ``port`` in ``state`` process ``pid`` holds (Linux /proc)."""
    inodes = set()
    try:
        for descriptor in Path(f"/proc/{pid}/fd").iterdir():
            target = os.readlink(descriptor)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except FileNotFoundError:  # the process has just ended
        return 0
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            count += local_port == port and fields[3] == state and fields[9] in inodes
    return count


def _wait_until_listening(served: Served, count: int, *, besides: int | None = None) -> set[int]:
    """The server processes listening on the served port, once ``count`` of them (``besides``
    not counted) do.

    ``kiban_server`` returns as soon as one process answers; the others may not listen yet.
    """
    deadline = time.monotonic() + 30
    while True:
        listening = {
            child
            for child in _children(served.pid)
            if child != besides and _sockets(child, served.port, LISTEN)
        }
        if len(listening) >= count:
            return listening
        assert time.monotonic() < deadline, f"{len(listening)} of {count} processes listen"
        time.sleep(0.1)


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux's /proc")
def test_several_server_processes_share_the_connections(engine: Engine, database_url: str) -> None:
    """A proxy's few kept-alive connections reach every process, not just the first to wake."""
    with kiban_server({"KIBAN_DATABASE_URL": database_url}, workers=2) as served:
        _wait_until_listening(served, 2)
        clients = [httpx2.Client(base_url=served.url) for _ in range(16)]
        try:
            for client in clients:
                assert client.get("/healthz").status_code == 200
            held = [_sockets(child, served.port, ESTABLISHED) for child in _children(served.pid)]
        finally:
            for client in clients:
                client.close()
    serving = [count for count in held if count]
    assert sum(held) == 16
    assert len(serving) == 2, f"connections per process: {held}"


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux's /proc")
def test_a_server_process_that_dies_is_replaced(engine: Engine, database_url: str) -> None:
    with kiban_server({"KIBAN_DATABASE_URL": database_url}, workers=2) as served:
        victim = min(_wait_until_listening(served, 2))
        os.kill(victim, signal.SIGKILL)
        _wait_until_listening(served, 2, besides=victim)
        for _ in range(8):  # whichever process each new connection reaches answers
            assert httpx2.get(f"{served.url}/healthz", timeout=5).status_code == 200
