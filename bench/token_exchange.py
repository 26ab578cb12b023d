"""Token-endpoint exchanges per second: authorization code → access, refresh and ID token.

Each exchange counts the attempt against the caller's address and the client (the
database-backed throttle), authenticates the client (client_secret_basic), spends and checks
the code (PKCE S256), writes a grant, two tokens and an audit event, signs an ES256 ID token and
commits.  Measured twice on a throw-away database per backend:

* service layer: ``TokenEndpoint.authenticate`` + ``TokenEndpoint.grant`` in worker threads —
  the code the route runs, in one transaction per exchange as the route's — without HTTP; the
  SQL statements and commits per exchange are counted too;
* over HTTP: ``POST /oidc/token`` to ``uvicorn kiban.app:create_app`` in its own processes
  (``--http-workers``; one for SQLite, whose single writer would make more of them wait on each
  other until "database is locked"), from client threads in this process.

The codes are made beforehand, for a business-account subject (no resident lookup).

    .venv/bin/python bench/token_exchange.py [--backend sqlite|postgresql|both] [--codes N]
        [--threads N] [--http-workers N] [--http-threads N]
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, delete, event
from sqlalchemy.orm import Session, sessionmaker

from kiban.core import migrations
from kiban.core.config import Settings
from kiban.core.database import (
    create_database_engine,
    scratch_postgresql_database,
    session_factory,
    session_scope,
)
from kiban.core.sessions import AuthSession, SubjectKind
from kiban.core.throttle import ThrottleBucket
from kiban.identity.oidc.authorization import AuthorizationService, s256
from kiban.identity.oidc.clients import ClientInput, ClientService
from kiban.identity.oidc.token_endpoint import ClientCredentials, GrantRequest, TokenEndpoint
from machine import describe

POSTGRES_ADMIN_URL = os.environ.get(
    "KIBAN_TEST_POSTGRES_URL", "postgresql+psycopg://127.0.0.1:5432/test"
)
REDIRECT_URI = "https://rp.example/callback"
VERIFIER = "v" * 64
CALLER_IP = "127.0.0.1"  # the address the HTTP clients below come from: the same throttle row


@dataclass(frozen=True)
class Client:
    client_id: str
    basic: str


@contextmanager
def throwaway_database(backend: str) -> Iterator[str]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/bench.db"
        return
    with scratch_postgresql_database(POSTGRES_ADMIN_URL, "kiban_bench") as url:
        yield url


def prepare(engine: Engine, settings: Settings) -> Client:
    migrations.upgrade(engine)
    with Session(engine) as session:
        created = ClientService(session).create(
            ClientInput(
                name="bench",
                purpose="benchmark",
                redirect_uris=[REDIRECT_URI],
                auth_method="client_secret_basic",
                post_logout_redirect_uris=[],
                scopes=["profile"],
            )
        )
        client_id = created.client.client_id
        session.commit()
    assert created.secret is not None
    basic = base64.b64encode(f"{client_id}:{created.secret}".encode()).decode()
    return Client(client_id, "Basic " + basic)


def make_codes(
    factory: sessionmaker[Session], settings: Settings, client: Client, n: int
) -> list[str]:
    now = datetime.now(UTC)
    person = AuthSession(
        id="bench",
        subject_kind=SubjectKind.BUSINESS.value,
        subject_id="bench-account",
        acr="aal2",
        amr="pwd otp",
        auth_time=now,
    )
    codes = []
    with factory() as session:
        service = AuthorizationService(session, settings)
        request = service.parse(
            {
                "client_id": client.client_id,
                "redirect_uri": REDIRECT_URI,
                "response_type": "code",
                "scope": "openid",
                "code_challenge": s256(VERIFIER),
                "code_challenge_method": "S256",
                "nonce": "n",
            }
        )
        for _ in range(n):
            location = service.approve(person, request, consented=False, now=now)
            codes.append(location.split("code=")[1].split("&")[0])
        session.commit()
    # Codes live two minutes: the runs below must start soon after.
    assert datetime.now(UTC) - now < timedelta(seconds=60), "making the codes took too long"
    return codes


def run_threads(codes: list[str], threads: int, work: Callable[[list[str]], None]) -> float:
    chunks = [codes[index::threads] for index in range(threads)]
    failures: list[BaseException] = []

    def guarded(chunk: list[str]) -> None:
        try:
            work(chunk)
        except BaseException as error:
            failures.append(error)

    workers = [threading.Thread(target=guarded, args=(chunk,)) for chunk in chunks]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise failures[0]
    return elapsed


def fresh_throttle_window(engine: Engine) -> None:
    """Forget the previous measurement's attempts, so that it does not count against the next."""
    with Session(engine) as session:
        session.execute(delete(ThrottleBucket))
        session.commit()


@dataclass(frozen=True)
class ServiceLayerRun:
    rate: float
    statements: float  # SQL statements per exchange
    commits: float


def service_layer(
    engine: Engine, settings: Settings, client: Client, n: int, threads: int
) -> ServiceLayerRun:
    factory = session_factory(engine)
    codes = make_codes(factory, settings, client, n)
    credentials = ClientCredentials(authorization=client.basic)
    # The route's own unit of work: kiban.core.dependencies.get_session runs session_scope.
    unit_of_work = contextmanager(session_scope)

    def work(chunk: list[str]) -> None:
        for code in chunk:
            with unit_of_work(factory) as session:
                endpoint = TokenEndpoint(session, settings)
                authenticated = endpoint.authenticate(CALLER_IP, credentials)
                endpoint.grant(
                    authenticated,
                    GrantRequest(
                        "authorization_code",
                        code=code,
                        redirect_uri=REDIRECT_URI,
                        code_verifier=VERIFIER,
                    ),
                )

    counts = {"statements": 0, "commits": 0}

    def count_statement(*_: object) -> None:
        counts["statements"] += 1

    def count_commit(*_: object) -> None:
        counts["commits"] += 1

    fresh_throttle_window(engine)
    event.listen(engine, "before_cursor_execute", count_statement)
    event.listen(engine, "commit", count_commit)
    try:
        elapsed = run_threads(codes, threads, work)
    finally:
        event.remove(engine, "before_cursor_execute", count_statement)
        event.remove(engine, "commit", count_commit)
    return ServiceLayerRun(n / elapsed, counts["statements"] / n, counts["commits"] / n)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def over_http(
    engine: Engine, settings: Settings, client: Client, n: int, workers: int, threads: int
) -> float:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    environment = {
        **os.environ,
        "KIBAN_DATABASE_URL": settings.database_url,
        "KIBAN_SECRET_KEY": settings.secret_key or "",
        "KIBAN_PUBLIC_URL": url,
        "KIBAN_DATA_DIR": str(settings.data_dir),
        "KIBAN_PRELOAD_REGISTRY": "false",
        "KIBAN_LOG_LEVEL": "warning",
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "kiban.app:create_app",
            "--factory",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=environment,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx2.get(url + "/healthz", timeout=1)
                break
            except httpx2.HTTPError:
                assert time.monotonic() < deadline, "uvicorn did not start"
                time.sleep(0.1)
        # The server's settings name it by its own URL: codes are made for that issuer.
        server_settings = settings.model_copy(update={"public_url": url})
        codes = make_codes(session_factory(engine), server_settings, client, n)
        fresh_throttle_window(engine)
        statuses: list[int] = []

        def work(chunk: list[str]) -> None:
            with httpx2.Client(base_url=url, timeout=30) as http:
                for code in chunk:
                    response = http.post(
                        "/oidc/token",
                        data={
                            "grant_type": "authorization_code",
                            "code": code,
                            "redirect_uri": REDIRECT_URI,
                            "code_verifier": VERIFIER,
                        },
                        headers={"Authorization": client.basic},
                    )
                    statuses.append(response.status_code)

        elapsed = run_threads(codes, threads, work)
        assert set(statuses) == {200}, f"unexpected statuses {set(statuses)}"
        return n / elapsed
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--codes", type=int, default=3000, help="exchanges per measurement")
    parser.add_argument("--threads", type=int, default=4, help="service-layer threads")
    parser.add_argument(
        "--http-workers",
        type=int,
        default=os.cpu_count() or 1,
        help="uvicorn worker processes on PostgreSQL (default: one per core; SQLite gets one)",
    )
    parser.add_argument("--http-threads", type=int, default=8, help="HTTP client threads")
    arguments = parser.parse_args()
    backends = ["sqlite", "postgresql"] if arguments.backend == "both" else [arguments.backend]

    table = Table(
        "backend",
        "measure",
        "exchanges/s",
        "statements/exchange",
        title="Token endpoint: code → tokens",
    )
    for backend in backends:
        with throwaway_database(backend) as url, tempfile.TemporaryDirectory() as data_dir:
            settings = Settings(
                database_url=url,
                data_dir=Path(data_dir),
                secret_key=secrets.token_hex(32),
                log_level="warning",
            )
            engine = create_database_engine(url)
            client = prepare(engine, settings)
            # SQLite has one writer at a time: more threads only queue on its lock.
            threads = 1 if backend == "sqlite" else arguments.threads
            run = service_layer(engine, settings, client, arguments.codes, threads)
            table.add_row(
                backend,
                f"service layer, {threads} thread(s)",
                f"{run.rate:,.0f}",
                f"{run.statements:.1f} + {run.commits:.0f} commit",
            )
            # Several SQLite writer processes wait on each other until "database is locked".
            http_workers = 1 if backend == "sqlite" else arguments.http_workers
            rate = over_http(
                engine, settings, client, arguments.codes, http_workers, arguments.http_threads
            )
            table.add_row(
                backend,
                f"HTTP, {http_workers} uvicorn worker(s), {arguments.http_threads} client threads",
                f"{rate:,.0f}",
                "",
            )
            engine.dispose()
    console = Console()
    console.print(table)
    console.print(f"machine: {describe()}")


if __name__ == "__main__":
    main()
