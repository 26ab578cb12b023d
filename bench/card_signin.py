"""Full card sign-ins per second: request, signature, verification, session.

Each sign-in is what the three requests of a real one do, each with the kind of session its
route has (on PostgreSQL every statement commits by itself: each change is one statement),
calling the services the routes call: the browser starts a request; the
device's approval is verified (signature, chain to the CA, validity, kind, status in the
register, the holder still a resident, audit event, rate-limit counter); the browser picks
the approval up and gets a session (audit event).  The device's signing is included; the PIN
decryption of the virtual card is not (it is deliberately slow, and happens on the device).
Each sign-in comes from its own address, as phones do, so the per-address limits hold.

With ``--http`` the same sign-ins go through ``kiban serve`` with
``--http-workers`` processes over real HTTP, as a browser and a phone send them: the form
post with its CSRF token, the device's look-up of the request (it learns the challenge from
it), its approval (from its own address, in ``X-Forwarded-For``, which the server trusts from
127.0.0.1 as behind a proxy) and the browser's pick-up, which sets the session cookie.  The
client threads run on the same machine and take their share of its cores.

With ``--processes`` the service-layer sign-ins run in that many forked processes, each with
``--workers`` threads, as uvicorn's worker processes would run them.

After the timed runs, a few more sign-ins are counted: SQL statements and commits each.

Set-up (not timed): a throw-away database — a new SQLite file, or a new database on the
PostgreSQL server of ``--database-url``, dropped afterwards — migrated, with the registry,
a seeded municipality, the CA and cards for ``--holders`` residents.

    .venv/bin/python bench/card_signin.py [--signins N] [--workers W] [--runs R]
        [--database-url postgresql+psycopg://127.0.0.1:5432/test]
        [--processes P | --http [--http-workers P]]
"""

from __future__ import annotations

import argparse
import random
import secrets
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import Response
from rich.console import Console
from sqlalchemy import Connection, Engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from kiban.core import migrations
from kiban.core.config import Settings
from kiban.core.crypto import PersonalNumberHasher
from kiban.core.database import (
    autocommit_session_factory,
    create_database_engine,
    scratch_postgresql_database,
)
from kiban.identity.ca.authority import ensure_authority
from kiban.identity.ca.service import CertificateAuthorityService
from kiban.identity.card.protocol import b64url, signin_message
from kiban.identity.card.service import CardSignInService
from kiban.registry.loader import load_postal_registry
from kiban.residents.codes import ResidentStatus
from kiban.residents.models import Resident
from kiban.residents.synthetic import seed_population
from machine import describe, timed_in_processes
from served import kiban_serve

CHIYODA = "131016"


@dataclass(frozen=True)
class Holder:
    key: ec.EllipticCurvePrivateKey
    certificate_pem: str


@contextmanager
def throwaway_database(url: str | None, folder: Path) -> Iterator[str]:
    if url is None or url.startswith("sqlite"):
        yield f"sqlite:///{folder / 'kiban.db'}"
        return
    with scratch_postgresql_database(url, "kiban_bench") as scratch_url:
        yield scratch_url


def prepare(engine: Engine, settings: Settings, holders: int) -> list[Holder]:
    migrations.upgrade(engine)
    with Session(engine) as session:
        load_postal_registry(session)
        seed_population(
            session, [CHIYODA], holders * 2, 1, PersonalNumberHasher(b"bench"), lambda _: None
        )
        ensure_authority(session, settings)
        residents = session.scalars(
            select(Resident)
            .where(Resident.status == ResidentStatus.RESIDENT)
            .order_by(Resident.addressee_number)
            .limit(holders)
        ).all()
        service = CertificateAuthorityService(session, settings)
        cards = []
        for resident in residents:
            key = ec.generate_private_key(ec.SECP256R1())
            issued = service.issue_for_resident(
                resident.tenant_code,
                resident.addressee_number,
                authentication_key=key.public_key(),
                signing_key=ec.generate_private_key(ec.SECP256R1()).public_key(),
                actor="bench",
            )
            pem = issued.authentication.certificate.public_bytes(serialization.Encoding.PEM)
            cards.append(Holder(key, pem.decode("ascii")))
        session.commit()
    return cards


def sign_in(factory: sessionmaker[Session], settings: Settings, holder: Holder, ip: str) -> None:
    with factory() as session:  # the browser starts
        started = CardSignInService(session, settings).start("/")
        code, challenge = started.request.code, started.request.challenge
        session.commit()
    with factory() as session:  # the device approves
        service = CardSignInService(session, settings)
        signature = holder.key.sign(
            signin_message(service.origin, code, challenge), ec.ECDSA(hashes.SHA256())
        )
        service.approve(code, holder.certificate_pem, signature, client_ip=ip)
        session.commit()
    with factory() as session:  # the browser picks it up
        service = CardSignInService(session, settings)
        request = service.for_browser(code, started.browser_secret)
        assert request is not None
        service.complete(request, Response())
        session.commit()


_local = threading.local()


def sign_in_over_http(url: str, holder: Holder, ip: str) -> None:
    """One sign-in as a browser and a phone make it; each thread keeps its connections."""
    http: httpx2.Client | None = getattr(_local, "http", None)
    if http is None:
        http = _local.http = httpx2.Client(base_url=url, timeout=30)
    http.cookies.clear()  # every sign-in is a new browser; cookies are sent by hand below
    csrf = secrets.token_urlsafe(32)
    started = http.post(
        "/signin/card",
        data={"next": "/", "csrf_token": csrf},
        headers={"Cookie": f"kiban_csrf={csrf}"},
    )
    assert started.status_code == 303, started.text
    code = started.headers["location"].rsplit("/", 1)[-1]
    browser = f"kiban_csrf={csrf}; kiban_card_signin={started.cookies['kiban_card_signin']}"
    phone = {"X-Forwarded-For": ip}
    looked_up = http.get(f"/card/signin-requests/{code}", headers=phone)
    assert looked_up.status_code == 200, looked_up.text
    signature = holder.key.sign(looked_up.json()["message"].encode(), ec.ECDSA(hashes.SHA256()))
    approval = {"certificate": holder.certificate_pem, "signature": b64url(signature)}
    approved = http.post(f"/card/signin-requests/{code}/approval", json=approval, headers=phone)
    assert approved.status_code == 200, approved.text
    http.cookies.clear()
    picked_up = http.get(f"/signin/card/{code}", headers={"Cookie": browser})
    assert picked_up.status_code == 303, picked_up.text
    assert "kiban_session" in picked_up.cookies


def in_processes(
    processes: int, url: str, settings: Settings, holders: list[Holder], n: int, workers: int
) -> float:
    """Sign-ins per second of ``processes`` forked processes sharing ``n`` sign-ins.

    As uvicorn's worker processes do: each has its own engine and ``workers`` threads.
    """

    def share(index: int, ready: Callable[[], None]) -> None:
        engine = create_database_engine(url)  # never the parent's pooled connections
        factory = autocommit_session_factory(engine)  # as the routes' sessions
        addresses = iter(range(10**9))
        lock = threading.Lock()

        def one(_: int) -> None:
            with lock:
                m = next(addresses)
            # 10.128+ is this process's, apart from the parent's 10.0–127.
            ip = f"10.{128 + index}.{m // 256 % 256}.{m % 256}"
            sign_in(factory, settings, random.choice(holders), ip)

        for _ in range(5):  # warm-up: connections, caches
            one(0)
        ready()
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(one, range(n // processes)))
        engine.dispose()

    return (n // processes * processes) / timed_in_processes(processes, share)


def count_statements(engine: Engine, sign_ins: Callable[[], None], n: int) -> tuple[float, float]:
    """SQL statements and commits per sign-in, over ``n`` sign-ins of the service layer."""
    counts = {"statements": 0, "commits": 0}

    def statement(*_: Any) -> None:
        counts["statements"] += 1

    def commit(connection: Connection) -> None:
        # A statement on an autocommit connection committed by itself: no COMMIT is sent.
        if connection.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            counts["commits"] += 1

    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "commit", commit)
    try:
        for _ in range(n):
            sign_ins()
    finally:
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(engine, "commit", commit)
    return counts["statements"] / n, counts["commits"] / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signins", type=int, default=3_000)
    parser.add_argument("--workers", type=int, default=1, help="concurrent sign-ins")
    parser.add_argument("--holders", type=int, default=200, help="residents with cards")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database-url", help="PostgreSQL server to make a database on")
    parser.add_argument(
        "--processes", type=int, default=1, help="processes, each with --workers threads"
    )
    parser.add_argument("--http", action="store_true", help="over HTTP, to kiban serve")
    parser.add_argument("--http-workers", type=int, default=2, help="kiban serve processes")
    arguments = parser.parse_args()
    console = Console(stderr=True)

    with (
        tempfile.TemporaryDirectory(prefix="kiban-card-bench-") as folder,
        throwaway_database(arguments.database_url, Path(folder)) as url,
    ):
        settings = Settings(
            database_url=url, data_dir=Path(folder), secret_key="bench, not a secret"
        )
        engine = create_database_engine(url)
        with console.status("migrating, seeding, issuing cards (not timed)…"):
            holders = prepare(engine, settings, arguments.holders)
        factory = autocommit_session_factory(engine)  # as the routes' sessions
        counter = iter(range(10**9))
        lock = threading.Lock()
        served = ExitStack()
        server_url = (
            served.enter_context(kiban_serve(settings, arguments.http_workers))
            if arguments.http
            else None
        )

        def next_ip() -> str:
            # Each phone has its own address, as in real traffic; the per-address limit holds.
            with lock:
                n = next(counter)
            return f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"

        def by_services() -> None:
            sign_in(factory, settings, random.choice(holders), next_ip())

        def one(_: int) -> None:
            if server_url is None:
                by_services()
            else:
                sign_in_over_http(server_url, random.choice(holders), next_ip())

        rates = []
        try:
            for _ in range(20):  # warm-up: caches, connections
                one(0)
            for _ in range(arguments.runs):
                started = time.perf_counter()
                if arguments.processes > 1 and server_url is None:
                    rate = in_processes(
                        arguments.processes,
                        url,
                        settings,
                        holders,
                        arguments.signins,
                        arguments.workers,
                    )
                    rates.append(rate)
                    continue
                if arguments.workers == 1:
                    for n in range(arguments.signins):
                        one(n)
                else:
                    with ThreadPoolExecutor(max_workers=arguments.workers) as pool:
                        list(pool.map(one, range(arguments.signins)))
                rates.append(arguments.signins / (time.perf_counter() - started))
        finally:
            served.close()
        # Counted in this process, at the service layer: the same statements as the routes'.
        statements, commits = count_statements(engine, by_services, 50)
        engine.dispose()

    if arguments.http:
        path = f"HTTP, kiban serve --workers {arguments.http_workers}"
    else:
        path = f"services, {arguments.processes} process(es)"
    print(f"database: {engine.dialect.name}, workers: {arguments.workers}, path: {path}")
    print(f"machine: {describe()}")
    print(
        f"card sign-ins: median {statistics.median(rates):,.0f}/s over {arguments.runs} runs"
        f" of {arguments.signins:,} (each: start, sign, verify, session)"
    )
    print(f"per sign-in: {statements:.1f} SQL statements, {commits:.1f} commits")


if __name__ == "__main__":
    main()
