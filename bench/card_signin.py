"""Full card sign-ins per second: request, signature, verification, session.

Each sign-in is what the three requests of a real one do, each in its own committed
transaction: the browser starts a request; the device's approval is verified (signature,
chain to the CA, validity, kind, status in the register, the holder still a resident,
audit event, rate-limit counters); the browser picks the approval up and gets a session.
The device's signing is included; the PIN decryption of the virtual card is not (it is
deliberately slow, and happens on the device).

Set-up (not timed): a throw-away database — a new SQLite file, or a new database on the
PostgreSQL server of ``--database-url``, dropped afterwards — migrated, with the registry,
a seeded municipality, the CA and cards for ``--holders`` residents.

    .venv/bin/python bench/card_signin.py [--signins N] [--workers W]
        [--database-url postgresql+psycopg://127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import Response
from rich.console import Console
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from kiban.core import migrations
from kiban.core.config import Settings
from kiban.core.crypto import PersonalNumberHasher
from kiban.core.database import create_database_engine, session_factory
from kiban.identity.ca.authority import ensure_authority
from kiban.identity.ca.service import CertificateAuthorityService
from kiban.identity.card.protocol import signin_message
from kiban.identity.card.service import CardSignInService
from kiban.registry.loader import load_postal_registry
from kiban.residents.codes import ResidentStatus
from kiban.residents.models import Resident
from kiban.residents.synthetic import seed_population
from machine import describe

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
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    name = f"kiban_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signins", type=int, default=3_000)
    parser.add_argument("--workers", type=int, default=1, help="concurrent sign-ins")
    parser.add_argument("--holders", type=int, default=200, help="residents with cards")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database-url", help="PostgreSQL server to make a database on")
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
        factory = session_factory(engine)
        counter = iter(range(10**9))
        lock = threading.Lock()

        def one(_: int) -> None:
            with lock:
                n = next(counter)
            # Each phone has its own address, as in real traffic; the per-address limit holds.
            ip = f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"
            sign_in(factory, settings, random.choice(holders), ip)

        for _ in range(20):  # warm-up: caches, connections
            one(0)
        rates = []
        for _ in range(arguments.runs):
            started = time.perf_counter()
            if arguments.workers == 1:
                for n in range(arguments.signins):
                    one(n)
            else:
                with ThreadPoolExecutor(max_workers=arguments.workers) as pool:
                    list(pool.map(one, range(arguments.signins)))
            rates.append(arguments.signins / (time.perf_counter() - started))
        engine.dispose()

    print(f"database: {engine.dialect.name}, workers: {arguments.workers}")
    print(f"machine: {describe()}")
    print(
        f"card sign-ins: median {statistics.median(rates):,.0f}/s over {arguments.runs} runs"
        f" of {arguments.signins:,} (each: start, sign, verify, session; 3 commits)"
    )


if __name__ == "__main__":
    main()
