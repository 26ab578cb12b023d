"""The real ``kiban`` command, for the command-line tests.

``run_kiban`` starts it in a process of its own, as a user runs it: that proves the entry point
end to end, and costs a process start and its imports.  ``run_kiban_in_process`` calls the same
entry point in the test's process, for the many cases of one command.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import httpx2
import pytest
import structlog
from typer.testing import CliRunner

import kiban.cli
from kiban.core.config import get_settings

# Either of the two ways to run it, for tests that use both.
RunKiban = Callable[..., subprocess.CompletedProcess[str]]


def _environment(
    database_url: str | None, data_dir: Path | None, environment: Mapping[str, str] | None
) -> dict[str, str]:
    settings = {"KIBAN_DATABASE_URL": database_url} if database_url else {}
    if data_dir is not None:
        settings["KIBAN_DATA_DIR"] = str(data_dir)
    return {**settings, **(environment or {})}


def run_kiban(
    *arguments: str,
    database_url: str | None = None,
    data_dir: Path | None = None,
    environment: Mapping[str, str] | None = None,
    stdin: str | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """``kiban ARGUMENTS`` in a new process; it never raises on a non-zero exit."""
    return subprocess.run(
        [sys.executable, "-m", "kiban", *arguments],
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env={
            **os.environ,
            "PYTHONUTF8": "1",
            **_environment(database_url, data_dir, environment),
        },
        timeout=timeout,
        check=False,
    )


def run_kiban_in_process(
    *arguments: str,
    database_url: str | None = None,
    data_dir: Path | None = None,
    environment: Mapping[str, str] | None = None,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """``kiban ARGUMENTS`` through ``kiban.cli.main`` in this process, as ``run_kiban`` would.

    The environment variables are set for the call only, and standard input, output and error
    are the call's own.  An exception that kiban lets escape fails the test: it is what a
    traceback would be in a process of its own.
    """
    with (
        CliRunner().isolation(
            input=stdin, env=_environment(database_url, data_dir, environment)
        ) as (stdout, stderr, _),
        _settings_read_afresh(),
        _logs_printed_to_stdout(),
        # typer installs its own excepthook on every run.
        mock.patch.object(sys, "excepthook", sys.excepthook),
        mock.patch.object(sys, "argv", ["kiban", *arguments]),
    ):
        with pytest.raises(SystemExit) as exited:  # main() always exits
            kiban.cli.main()
        returncode = exited.value.code
        assert isinstance(returncode, int), f"exit status {returncode!r}"
        sys.stdout.flush()
        sys.stderr.flush()
        return subprocess.CompletedProcess(
            ["kiban", *arguments],
            returncode,
            stdout.getvalue().decode("utf-8"),
            stderr.getvalue().decode("utf-8"),
        )


@contextmanager
def _settings_read_afresh() -> Iterator[None]:
    """The call reads its own environment, and later code does not see the call's settings."""
    get_settings.cache_clear()
    try:
        yield
    finally:
        get_settings.cache_clear()


@contextmanager
def _logs_printed_to_stdout() -> Iterator[None]:
    """structlog as a new ``kiban`` process has it: not configured, printing to standard output.

    An app made by an earlier test configured it to print to the standard error of that moment.
    """
    was_configured, saved = structlog.is_configured(), structlog.get_config()
    structlog.reset_defaults()
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stdout))
    try:
        yield
    finally:
        structlog.reset_defaults()
        if was_configured:
            structlog.configure(**saved)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class Served:
    url: str  # also the server's public URL
    pid: int  # the ``kiban serve`` process

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])


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
