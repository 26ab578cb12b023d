"""How fast a gateway's message log verifies (goal: ≥ 50,000 records/s) and appends.

Fills a new gateway database with N records through ``MessageLog.append`` in batches of 256
(timed: append throughput, each batch one committed transaction, a signed checkpoint every
1,000 records), then times ``verify_log`` over all of them, best of ``--runs``.  Records
are the size a real exchange logs: two compact JWS of about 600 characters, a path, a
purpose and a legal basis; bodies are not kept unless ``--body-bytes`` says so.

Without ``--database-url`` the log is a new SQLite file in a temporary folder; with a
PostgreSQL URL, a scratch database on that server, dropped afterwards.

    .venv/bin/python bench/log_verify.py [--records N] [--runs 3] [--body-bytes 0]
        [--database-url postgresql+psycopg://127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import base64
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from rich.console import Console
from sqlalchemy import Engine

from kiban.cli.progress import progress_bar
from kiban.core.database import scratch_postgresql_database
from kiban.mesh.gateway.database import open_gateway_database
from kiban.mesh.gateway.log import LogEntry, LogReport, MessageLog, verify_log
from machine import describe

BATCH = 256
START = datetime(2026, 4, 1, tzinfo=UTC)


@contextmanager
def _database(url: str | None) -> Iterator[str]:
    with ExitStack() as stack:
        if url is None:
            folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="kiban-log-bench-"))
            yield f"sqlite:///{Path(folder) / 'gateway.sqlite3'}"
        else:
            yield stack.enter_context(scratch_postgresql_database(url, "kiban_bench"))


def _gateway_key() -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A self-signed key: verify_log checks the checkpoints' signatures all the same."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "JP/LG/131016")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(START - timedelta(days=1))
        .not_valid_after(START + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return key, certificate


def _jws(kind: str, number: int) -> str:
    """Something the size and shape of a gateway's compact JWS (about 600 characters)."""
    header = base64.urlsafe_b64encode(f'{{"alg":"ES256","typ":"{kind}"}}'.encode()).decode()
    payload = base64.urlsafe_b64encode(os.urandom(330) + number.to_bytes(8, "big")).decode()
    return f"{header}.{payload}.{base64.urlsafe_b64encode(os.urandom(64)).decode()}"


def _entry(number: int, body: bytes | None) -> LogEntry:
    started = START + timedelta(milliseconds=number * 20)
    return LogEntry(
        message_id=str(uuid.uuid4()),
        role="provider",
        client=f"JP/LG/{11002 + number % 1700:06d}/tax",
        service="JP/LG/131016/juki/resident-certificate/v1",
        method="GET",
        path=f"/residents/{number:09d}?fields=name,address,birth_date",
        user_id=f"staff-{number % 97:03d}",
        purpose="個人住民税の賦課",
        legal_basis="地方税法第20条の11",
        consent=None,
        status=200,
        outcome="ok",
        request_signature=_jws("kiban-mesh-request+jwt", number),
        response_signature=_jws("kiban-mesh-response+jwt", number),
        request_hash=base64.urlsafe_b64encode(os.urandom(32)).decode(),
        request_body=body,
        response_body=body,
        started_at=started,
        finished_at=started + timedelta(milliseconds=35),
    )


def _timed_verify(engine: Engine, console: Console, label: str) -> tuple[float, LogReport]:
    with progress_bar(console) as progress:
        task = progress.add_task(label, total=None)
        started = time.perf_counter()
        report = verify_log(
            engine,
            progress=lambda done, expected: progress.update(task, completed=done, total=expected),
        )
        return time.perf_counter() - started, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--body-bytes", type=int, default=0, help="keep bodies of this size")
    parser.add_argument("--database-url", help="a PostgreSQL server; a new SQLite file if omitted")
    arguments = parser.parse_args()
    console = Console(stderr=True)
    body = os.urandom(arguments.body_bytes) if arguments.body_bytes else None
    key, certificate = _gateway_key()

    with _database(arguments.database_url) as url:
        engine = open_gateway_database(url)
        message_log = MessageLog(engine, key, certificate, body_key=os.urandom(32))
        appending = 0.0
        with progress_bar(console) as progress:
            task = progress.add_task("appending", total=arguments.records)
            for first in range(0, arguments.records, BATCH):
                entries = [
                    _entry(number, body)
                    for number in range(first, min(first + BATCH, arguments.records))
                ]
                started = time.perf_counter()
                message_log.append(entries)
                appending += time.perf_counter() - started
                progress.update(task, advance=len(entries))
        message_log.checkpoint()

        seconds: list[float] = []
        for run in range(arguments.runs):
            elapsed, report = _timed_verify(engine, console, f"verifying, run {run + 1}")
            if not report.intact:
                raise SystemExit(f"the log does not verify: {report.findings[0]}")
            seconds.append(elapsed)
        engine.dispose()

    print(f"database: {engine.dialect.name}")
    print(f"machine: {describe()}")
    print(f"records: {arguments.records:,}, bodies: {arguments.body_bytes} bytes each")
    print(
        f"append (batches of {BATCH}, one commit each): {arguments.records / appending:,.0f}"
        " records/s"
    )
    print(
        f"verify_log, best of {arguments.runs}: {min(seconds):.2f} s,"
        f" {arguments.records / min(seconds):,.0f} records/s"
        f" (all runs: {', '.join(f'{s:.2f}' for s in seconds)} s)"
    )


if __name__ == "__main__":
    main()
