"""Mistakes on the command line are one line on stderr and a non-zero exit, never a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx2
import pytest
from sqlalchemy import Engine

from kiban_command import run_kiban


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["nope"], "kiban: error: No such command 'nope'."),
        (["id", "validate", "personal"], "kiban: error: Missing argument 'VALUE'."),
        (["localgov", "list", "--format", "xml"], "kiban: error: Invalid value for '--format'"),
        (["serve", "--port", "0"], "kiban: error: Invalid value for '--port'"),
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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_serve_answers_health_checks(engine: Engine, database_url: str) -> None:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "kiban", "serve", "--port", str(port)],
        env={**os.environ, "KIBAN_DATABASE_URL": database_url},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx2.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx2.TransportError:
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                assert time.monotonic() < deadline, "kiban serve did not start within 30 s"
                time.sleep(0.2)
        assert response.status_code == 200
        assert response.json() == {"status": "ok", "database": "ok"}
        assert response.headers["x-request-id"]
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert server.stdout is not None
    assert f"http://127.0.0.1:{port}" in server.stdout.read()
