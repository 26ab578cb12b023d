"""Exchanges through the mesh, end to end, against the same provider system called directly.

A consumer's system (wrk) calls 札幌市's gateway, which signs and sends each request over
mutual TLS to 千代田区's gateway, which verifies it, authorises it against the access
rights, purpose and legal basis, calls the provider system, signs the answer and logs the
exchange; 札幌市's gateway verifies the answer, logs it and answers.  Each gateway is the
real ``kiban gateway`` process with its own message log; the registry is ``kiban serve``.
The provider system (bench/mesh_provider.py) answers at once, so the figures are the mesh's.

Measured side by side on this machine, wrk (``apt install wrk``) over ``--connections``:

* the provider system called directly, then through both gateways, at full load for
  ``--seconds``: exchanges per second, and CPU seconds per exchange of every process;
* through both gateways at half the full-load rate: the latency percentiles (p50, p99).

    .venv/bin/python bench/mesh_exchange.py [--backend sqlite|postgresql] [--seconds N]
        [--connections N]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx2
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from kiban.core import migrations
from kiban.core.database import create_database_engine
from kiban.core.network import tcp_listener
from kiban.registry.loader import load_postal_registry
from machine import describe
from token_exchange import throwaway_database

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
# The tests' mesh, set up the same way.
from mesh.gateway.mesh_world import (
    CERTIFICATE,
    CHIYODA,
    RESIDENT,
    SAPPORO,
    mesh_world,
)

HERE = Path(__file__).resolve().parent
PACED = HERE / "mesh_paced.lua"
HEADERS = {
    "Kiban-Client": "JP/LG/011002/tax",
    "Kiban-Purpose": "tax-assessment",
    "Kiban-Legal-Basis": "%E5%9C%B0%E6%96%B9%E7%A8%8E%E6%B3%95",
}


@dataclass(frozen=True)
class Run:
    requests: int
    seconds: float
    errors: int
    latency_ms: dict[str, float]  # percentile → milliseconds
    cpu_seconds: dict[str, float]  # process → CPU seconds during the run

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def provider_system() -> Iterator[tuple[str, int]]:
    with tcp_listener("127.0.0.1", 0) as probe:
        port = int(probe.getsockname()[1])
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--app-dir",
            str(HERE),
            "mesh_provider:app",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
        ]
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx2.get(url, timeout=1)
                break
            except httpx2.HTTPError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the provider system did not start") from None
                time.sleep(0.1)
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


_LATENCY = re.compile(r"^\s+(50|90|99)(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
_REQUESTS = re.compile(r"(\d+) requests in ([\d.]+)s")
_ERRORS = re.compile(r"Non-2xx or 3xx responses: (\d+)")
_SOCKET_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(
    url: str,
    seconds: int,
    connections: int,
    processes: dict[str, int],
    headers: dict[str, str],
    rate: float | None = None,
) -> Run:
    """wrk against ``url``; with ``rate``, paced to about that many requests per second."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    if rate is not None:
        command += ["-s", str(PACED), url, "--", str(connections * 1000 / rate)]
    else:
        command.append(url)
    before = {name: cpu_seconds(pid) for name, pid in processes.items()}
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    used = {name: cpu_seconds(pid) - before[name] for name, pid in processes.items()}
    count, elapsed = _REQUESTS.search(output).groups()  # type: ignore[union-attr]
    errors = sum(int(n) for n in (_ERRORS.findall(output) or ["0"]))
    if socket_errors := _SOCKET_ERRORS.search(output):
        errors += sum(int(n) for n in socket_errors.groups())
    latency = {f"p{p}": float(v) * _UNITS[unit] for p, v, unit in _LATENCY.findall(output)}
    return Run(int(count), float(elapsed), errors, latency, used)


def main(arguments: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    options = parser.parse_args(arguments)
    console = Console()
    console.print(f"Machine: {describe()}; gateways' logs and registry on {options.backend}")
    with (
        throwaway_database(options.backend) as url,
        tempfile.TemporaryDirectory() as folder,
        provider_system() as (provider_url, provider_pid),
    ):
        engine = create_database_engine(url)
        migrations.upgrade(engine)
        with Session(engine) as session:
            load_postal_registry(session)
            session.commit()
        with mesh_world(engine, Path(folder), provider_url=provider_url) as world:
            consumer, provider = world.gateway(SAPPORO), world.gateway(CHIYODA)
            assert consumer.process is not None
            assert provider.process is not None
            processes = {
                "consumer's gateway": consumer.process.pid,
                "provider's gateway": provider.process.pid,
                "provider system": provider_pid,
            }
            path = f"/residents/{RESIDENT}/certificate"
            mesh_url = f"{consumer.url}/r1/{CERTIFICATE}{path}"
            warm = consumer.call("GET", f"{CERTIFICATE}{path}", headers=HEADERS)
            assert warm.status_code == 200, warm.text
            wrk(mesh_url, 2, options.connections, processes, HEADERS)  # warm-up
            direct = wrk(provider_url + path, options.seconds, options.connections, processes, {})
            mesh = wrk(mesh_url, options.seconds, options.connections, processes, HEADERS)
            paced = wrk(
                mesh_url, options.seconds, options.connections, processes, HEADERS, mesh.rate / 2
            )
        engine.dispose()

    def cpu_per_exchange(run: Run) -> float:
        return sum(run.cpu_seconds.values()) / max(run.requests, 1)

    table = Table("run", "exchanges/s", "errors", "p50 ms", "p99 ms", "CPU ms per exchange")
    for name, run in (("direct", direct), ("mesh, full load", mesh), ("mesh, half rate", paced)):
        cpu = cpu_per_exchange(run) * 1000
        table.add_row(
            name,
            f"{run.rate:,.0f}",
            str(run.errors),
            f"{run.latency_ms.get('p50', 0):.1f}",
            f"{run.latency_ms.get('p99', 0):.1f}",
            f"{cpu:.2f} ("
            + ", ".join(
                f"{process}: {seconds * 1000 / max(run.requests, 1):.2f}"
                for process, seconds in run.cpu_seconds.items()
            )
            + ")",
        )
    console.print(table)
    console.print(
        f"direct/mesh throughput: {direct.rate / mesh.rate:.1f}×; CPU per exchange, "
        f"mesh/direct: {cpu_per_exchange(mesh) / cpu_per_exchange(direct):.1f}×"
    )


if __name__ == "__main__":
    main()
