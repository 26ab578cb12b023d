"""Token-endpoint exchanges per second: authorization code → access, refresh and ID token.

Each exchange authenticates the client (client_secret_basic), counts the attempt against the
caller's address and the client (rate limits), spends and checks the code (PKCE S256), writes
a grant, two tokens and an audit event, signs an ES256 ID token and commits (on PostgreSQL
all of that but the signature is one statement, which commits by itself).  Measured twice on
a throw-away database per backend:

* service layer: ``TokenEndpoint.answer``, the code the route runs, with the units of work the
  app gives it, without HTTP, in ``--processes``
  forked processes of ``--threads`` threads (as ``kiban serve --workers`` runs it); the SQL
  statements and commits per exchange are counted too;
* over HTTP: ``POST /oidc/token`` to ``kiban serve --workers N`` (``--http-workers``; one for
  SQLite, whose single writer would make more of them wait on each other until "database is
  locked"), loaded by wrk (``apt install wrk``) over ``--http-connections`` connections for
  ``--http-seconds``; the codes must last that long.

The codes are made beforehand, for a business-account subject (no resident lookup).

    .venv/bin/python bench/token_exchange.py [--backend sqlite|postgresql|both] [--codes N]
        [--processes N] [--threads N] [--http-workers N] [--http-connections N]
        [--http-seconds N]
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import Connection, Engine, delete, event, func, select
from sqlalchemy.orm import Session, sessionmaker

from kiban.core import migrations
from kiban.core.config import Settings
from kiban.core.database import (
    autocommit_session_factory,
    create_database_engine,
    scratch_postgresql_database,
    session_factory,
    session_scope,
)
from kiban.core.sessions import AuthSession, SubjectKind
from kiban.core.throttle import ThrottleBucket, forget_local_counts
from kiban.identity.oidc.authorization import AuthorizationService, s256
from kiban.identity.oidc.clients import ClientInput, ClientService
from kiban.identity.oidc.models import OidcGrant
from kiban.identity.oidc.token_endpoint import ClientCredentials, GrantRequest, TokenEndpoint
from machine import describe, timed_in_processes
from served import kiban_serve

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


def token_endpoint(engine: Engine, settings: Settings) -> TokenEndpoint:
    """The token endpoint with the units of work the app gives the route."""
    return TokenEndpoint(
        settings,
        unit_of_work=partial(contextmanager(session_scope), session_factory(engine)),
        single_statements=partial(
            contextmanager(session_scope), autocommit_session_factory(engine)
        ),
    )


def exchange(endpoint: TokenEndpoint, client: Client, code: str) -> None:
    """One exchange as the route runs it."""
    endpoint.answer(
        CALLER_IP,
        ClientCredentials(client.basic),
        GrantRequest(
            "authorization_code", code=code, redirect_uri=REDIRECT_URI, code_verifier=VERIFIER
        ),
    )


def fresh_throttle_window(engine: Engine) -> None:
    """Forget the previous measurement's attempts, so that it does not count against the next."""
    with Session(engine) as session:
        session.execute(delete(ThrottleBucket))
        session.commit()
    forget_local_counts()


def service_layer(
    url: str, settings: Settings, codes: list[str], client: Client, processes: int, threads: int
) -> float:
    """Exchanges per second of ``processes`` forked processes of ``threads`` threads each, as
    ``kiban serve --workers`` runs the route: each process has its own engine."""

    def share(index: int, ready: Callable[[], None]) -> None:
        engine = create_database_engine(url)  # never the parent's pooled connections
        endpoint = token_endpoint(engine, settings)
        exchange(endpoint, client, codes[index])  # warm-up: connections, caches
        ready()
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(lambda code: exchange(endpoint, client, code),
                          codes[processes + index :: processes]))  # fmt: skip
        engine.dispose()

    return (len(codes) - processes) / timed_in_processes(processes, share)


def statements_per_exchange(
    engine: Engine, settings: Settings, codes: list[str], client: Client
) -> tuple[float, float]:
    """SQL statements and commits per exchange, counted over ``codes``."""
    counts = {"statements": 0, "commits": 0}

    def count_statement(*_: object) -> None:
        counts["statements"] += 1

    def count_commit(connection: Connection) -> None:
        # A statement on an autocommit connection committed by itself: no COMMIT is sent.
        if connection.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            counts["commits"] += 1

    endpoint = token_endpoint(engine, settings)
    exchange(endpoint, client, codes[0])  # the first one fills the caches
    event.listen(engine, "before_cursor_execute", count_statement)
    event.listen(engine, "commit", count_commit)
    try:
        for code in codes[1:]:
            exchange(endpoint, client, code)
    finally:
        event.remove(engine, "before_cursor_execute", count_statement)
        event.remove(engine, "commit", count_commit)
    n = len(codes) - 1
    return counts["statements"] / n, counts["commits"] / n


def over_http(
    engine: Engine,
    settings: Settings,
    client: Client,
    n: int,
    workers: int,
    connections: int,
    seconds: int,
) -> float:
    """Exchanges per second of ``kiban serve --workers N`` for ``seconds``, loaded by wrk (a C
    client, so that the load costs the two cores little) over ``connections`` connections.

    wrk runs for a fixed time; the rate is the grants the server wrote in it, which holds only
    while ``n`` codes last that long.
    """
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("the HTTP measurement needs wrk: apt install wrk")
    with kiban_serve(settings, workers) as url, tempfile.TemporaryDirectory() as folder:
        # The server's settings name it by its own URL: codes are made for that issuer.
        server_settings = settings.model_copy(update={"public_url": url})
        codes = make_codes(session_factory(engine), server_settings, client, n)
        codes_file = Path(folder) / "codes.txt"
        codes_file.write_text("\n".join(codes) + "\n", encoding="ascii")
        fresh_throttle_window(engine)

        def grants() -> int:
            with Session(engine) as session:
                return session.scalar(select(func.count()).select_from(OidcGrant)) or 0

        before = grants()
        subprocess.run(
            [
                wrk,
                "--threads", "1",
                "--connections", str(connections),
                "--duration", f"{seconds}s",
                "--script", str(Path(__file__).with_suffix(".lua")),
                url,
                "--",
                str(codes_file), client.basic, REDIRECT_URI, VERIFIER,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        exchanged = grants() - before
        if exchanged >= n:
            raise SystemExit(f"the {n:,} codes ran out within {seconds} s: pass more --codes")
        return exchanged / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--codes", type=int, default=3000, help="exchanges per measurement")
    parser.add_argument(
        "--processes", type=int, default=os.cpu_count() or 1, help="service-layer processes"
    )
    parser.add_argument("--threads", type=int, default=4, help="threads per process")
    parser.add_argument(
        "--http-workers",
        type=int,
        default=os.cpu_count() or 1,
        help="uvicorn worker processes on PostgreSQL (default: one per core; SQLite gets one)",
    )
    parser.add_argument(
        "--http-connections", type=int, default=16, help="connections wrk keeps open"
    )
    parser.add_argument("--http-seconds", type=int, default=5, help="how long wrk runs")
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
                # One relying party, from one address, makes every exchange: limits above
                # what is measured, as a deployment would set them for such a client.
                oidc_token_limit_per_client=1_000_000,
                oidc_token_limit_per_ip=1_000_000,
            )
            engine = create_database_engine(url)
            client = prepare(engine, settings)
            # SQLite has one writer at a time: more of them only queue on its lock.
            processes, threads = (
                (1, 1) if backend == "sqlite" else (arguments.processes, arguments.threads)
            )
            factory = session_factory(engine)
            fresh_throttle_window(engine)
            statements, commits = statements_per_exchange(
                engine, settings, make_codes(factory, settings, client, 51), client
            )
            codes = make_codes(factory, settings, client, arguments.codes)
            fresh_throttle_window(engine)
            engine.dispose()  # the forked processes must not inherit its connections
            rate = service_layer(url, settings, codes, client, processes, threads)
            table.add_row(
                backend,
                f"service layer, {processes} process(es) × {threads} thread(s)",
                f"{rate:,.0f}",
                f"{statements:.1f} + {commits:.0f} commit",
            )
            # Several SQLite writer processes wait on each other until "database is locked".
            http_workers = 1 if backend == "sqlite" else arguments.http_workers
            rate = over_http(
                engine,
                settings,
                client,
                arguments.codes,
                http_workers,
                arguments.http_connections,
                arguments.http_seconds,
            )
            table.add_row(
                backend,
                f"HTTP, {http_workers} server process(es), {arguments.http_connections} conn.",
                f"{rate:,.0f}",
                "",
            )
            engine.dispose()
    console = Console()
    console.print(table)
    console.print(f"machine: {describe()}")


if __name__ == "__main__":
    main()
