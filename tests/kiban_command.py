"""The real ``kiban`` command, run as a user runs it, for the command-line tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx2


def run_kiban(
    *arguments: str,
    database_url: str | None = None,
    data_dir: Path | None = None,
    environment: Mapping[str, str] | None = None,
    stdin: str | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """``kiban ARGUMENTS`` in a new process; it never raises on a non-zero exit."""
    settings = {"KIBAN_DATABASE_URL": database_url} if database_url else {}
    if data_dir is not None:
        settings["KIBAN_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [sys.executable, "-m", "kiban", *arguments],
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env={**os.environ, "PYTHONUTF8": "1", **settings, **(environment or {})},
        timeout=timeout,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class Served:
    url: str  # also the server's public URL
    pid: int  # the ``kiban serve`` process


@contextmanager
def kiban_server(environment: Mapping[str, str], *, workers: int = 1) -> Iterator[Served]:
    """``kiban serve`` in its own process(es) on a free port."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "kiban", "serve", "--port", str(port), "--workers", str(workers)],
        env={
            **os.environ,
            **environment,
            "KIBAN_PUBLIC_URL": url,
            "KIBAN_PRELOAD_REGISTRY": "false",
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx2.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx2.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                errors = process.stderr.read().decode() if process.stderr else ""
                raise RuntimeError(f"server did not start: {errors}")
            time.sleep(0.2)
        yield Served(url, process.pid)
    finally:
        process.terminate()
        process.wait(timeout=10)
