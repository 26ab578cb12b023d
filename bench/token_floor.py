"""What this machine allows a token exchange without kiban's layers: the floor for the goal.

The same database round trips as an authorization-code exchange at ``/oidc/token`` — begin,
read the client, spend the code (``UPDATE … RETURNING``), write the grant, two tokens and an
audit row in one statement, commit — plus one ES256 signature, sent with the driver alone
(psycopg), or through a SQLAlchemy session (``--through-sqlalchemy``), on a scratch database
with tables shaped like kiban's.  No HTTP, no ORM objects, no rate limits, no JOSE library.

    .venv/bin/python bench/token_floor.py [--exchanges N] [--processes P] [--threads T]
        [--through-sqlalchemy]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from kiban.core.database import scratch_postgresql_database
from machine import describe

POSTGRES_ADMIN_URL = os.environ.get(
    "KIBAN_TEST_POSTGRES_URL", "postgresql+psycopg://127.0.0.1:5432/test"
)
SCHEMA = """
CREATE TABLE clients (id text PRIMARY KEY, secret_sha256 text, disabled_at timestamptz);
CREATE TABLE codes (digest text PRIMARY KEY, client_id text REFERENCES clients,
    used_at timestamptz, expires_at timestamptz, subject text, nonce text);
CREATE TABLE grants (id text PRIMARY KEY, client_id text REFERENCES clients, subject text,
    code_sha256 text, created_at timestamptz);
CREATE INDEX ON grants (code_sha256);
CREATE TABLE tokens (sha256 text PRIMARY KEY, grant_id text REFERENCES grants, kind text,
    expires_at timestamptz);
CREATE INDEX ON tokens (grant_id);
CREATE TABLE audit (id bigserial PRIMARY KEY, at timestamptz, action text, actor text,
    subject text, details json);
CREATE INDEX ON audit (at);
CREATE INDEX ON audit (subject, at);
INSERT INTO clients VALUES ('rp', 'secret', NULL);
"""
NEW_CODE = "INSERT INTO codes VALUES (%s, 'rp', NULL, now() + interval '1 hour', 's', 'n')"
READ_CLIENT = "SELECT id, secret_sha256, disabled_at FROM clients WHERE id = %s"
SPEND_CODE = (
    "UPDATE codes SET used_at = now() WHERE digest = %s AND used_at IS NULL"
    " RETURNING subject, nonce, expires_at"
)
ISSUE = (
    "WITH g AS (INSERT INTO grants VALUES (%s, 'rp', %s, %s, now())),"
    " t AS (INSERT INTO tokens VALUES (%s, %s, 'access', now()), (%s, %s, 'refresh', now()))"
    " INSERT INTO audit (at, action, actor, subject, details)"
    " VALUES (now(), 'oidc.token', 'rp', %s, %s)"
)
KEY = ec.generate_private_key(ec.SECP256R1())


def issue_parameters(code: str, subject: str) -> tuple[Any, ...]:
    grant = secrets.token_hex(16)
    access, refresh = secrets.token_hex(32), secrets.token_hex(32)
    details = json.dumps({"grant_id": grant})
    return (grant, subject, code, access, grant, refresh, grant, subject, details)


def sign(subject: str, nonce: str) -> None:
    claims = json.dumps({"sub": subject, "nonce": nonce, "iat": int(time.time())})
    KEY.sign(claims.encode(), ec.ECDSA(hashes.SHA256()))


def driver_exchanger(dsn: str) -> Callable[[str], None]:
    connections = threading.local()

    def exchange(code: str) -> None:
        if not hasattr(connections, "connection"):
            connections.connection = psycopg.connect(dsn)
        connection = connections.connection
        with connection.transaction():
            connection.execute(READ_CLIENT, ("rp",)).fetchone()
            row = connection.execute(SPEND_CODE, (code,)).fetchone()
            assert row is not None
            connection.execute(ISSUE, issue_parameters(code, row[0]))
        sign(row[0], row[1])

    return exchange


def sqlalchemy_exchanger(url: str, threads: int) -> Callable[[str], None]:
    engine = create_engine(url, pool_size=threads)

    def exchange(code: str) -> None:
        with Session(engine) as session:
            connection = session.connection()
            connection.exec_driver_sql(READ_CLIENT, ("rp",)).one()
            row = connection.exec_driver_sql(SPEND_CODE, (code,)).one()
            connection.exec_driver_sql(ISSUE, issue_parameters(code, row[0]))
            session.commit()
        sign(row[0], row[1])

    return exchange


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exchanges", type=int, default=6000)
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--threads", type=int, default=4, help="threads per process")
    parser.add_argument("--through-sqlalchemy", action="store_true")
    arguments = parser.parse_args()
    n, processes, threads = arguments.exchanges, arguments.processes, arguments.threads
    with scratch_postgresql_database(POSTGRES_ADMIN_URL, "kiban_floor") as url:
        dsn = url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(dsn, autocommit=True) as connection:
            connection.execute(SCHEMA)
            with connection.cursor() as cursor:
                cursor.executemany(NEW_CODE, [(f"code-{index}",) for index in range(n)])

        def share(index: int) -> None:
            exchange = (
                sqlalchemy_exchanger(url, threads)
                if arguments.through_sqlalchemy
                else driver_exchanger(dsn)
            )
            with ThreadPoolExecutor(threads) as pool:
                list(pool.map(exchange, [f"code-{k}" for k in range(index, n, processes)]))

        context = multiprocessing.get_context("fork")
        children = [context.Process(target=share, args=(index,)) for index in range(processes)]
        started = time.perf_counter()
        for child in children:
            child.start()
        for child in children:
            child.join()
            if child.exitcode != 0:
                raise SystemExit(f"an exchanging process failed (exit code {child.exitcode})")
        rate = n / (time.perf_counter() - started)
    layer = "SQLAlchemy session" if arguments.through_sqlalchemy else "psycopg alone"
    print(f"floor ({layer}): {rate:,.0f} exchanges/s, {processes} processes × {threads} threads")
    print(f"machine: {describe()}")


if __name__ == "__main__":
    main()
