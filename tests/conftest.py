"""Test fixtures: every database test runs against SQLite and PostgreSQL.

The schema is built by the real migrations and the registry by the real
loader, once per backend per run; each test then runs inside a transaction
that is rolled back, so tests never see each other's data.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from http.cookies import SimpleCookie
from pathlib import Path

import httpx2
import pytest
from fastapi import FastAPI, Response
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, sync_playwright
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from kiban.app import create_app
from kiban.core import migrations
from kiban.core.config import Settings
from kiban.core.csrf import CSRF_COOKIE
from kiban.core.database import create_database_engine, scratch_postgresql_database
from kiban.core.sessions import SESSION_COOKIE, AuthSession, SubjectKind, start_session
from kiban.core.throttle import forget_local_counts
from kiban.registry.addresses.normalizer import AddressNormalizer
from kiban.registry.addresses.service import build_normalizer
from kiban.registry.loader import load_postal_registry

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# The server database used to create a throw-away database for each run.
POSTGRES_ADMIN_URL = os.environ.get(
    "KIBAN_TEST_POSTGRES_URL", "postgresql+psycopg://127.0.0.1:5432/test"
)
BACKENDS = os.environ.get("KIBAN_TEST_BACKENDS", "sqlite,postgresql").split(",")


def _prepare(engine: Engine) -> None:
    migrations.upgrade(engine)
    with Session(engine) as session:
        load_postal_registry(session)
        session.commit()


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'kiban.db'}"


@pytest.fixture(scope="session")
def postgresql_url() -> Iterator[str]:
    with scratch_postgresql_database(POSTGRES_ADMIN_URL, "kiban_test") as url:
        yield url


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_database_engine(database_url)
    _prepare(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def private_engine(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A database of the module's own, on the same backend, migrated and with the registry.

    For tests whose data must be committed — a live server, a command in another process —
    so that it never leaks into the shared database other tests count rows in.
    """
    with ExitStack() as stack:
        if make_url(database_url).get_backend_name() == "postgresql":
            url = stack.enter_context(scratch_postgresql_database(POSTGRES_ADMIN_URL, "kiban_test"))
        else:
            url = f"sqlite:///{tmp_path_factory.mktemp('private-db') / 'kiban.db'}"
        engine = create_database_engine(url)
        stack.callback(engine.dispose)
        _prepare(engine)
        yield engine


@pytest.fixture
def empty_database(database_url: str, tmp_path: Path) -> Iterator[str]:
    """The URL of a new database with no tables, on the same backend, dropped afterwards."""
    if make_url(database_url).get_backend_name() != "postgresql":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    with scratch_postgresql_database(POSTGRES_ADMIN_URL, "kiban_empty") as url:
        yield url


@pytest.fixture(scope="session")
def address_normalizer(engine: Engine) -> AddressNormalizer:
    """Built once per backend from the registry tables, as the running app builds it."""
    with Session(engine) as session:
        return build_normalizer(session)


@pytest.fixture(autouse=True)
def _no_rate_limit_counts_from_other_tests() -> None:
    # The rate limiter counts in memory per database; the tests share one database each.
    forget_local_counts()


@pytest.fixture
def db_session(engine: Engine) -> Iterator[Session]:
    """A session whose commits become savepoints of one transaction rolled back after the test."""
    with engine.connect() as connection:
        transaction = connection.begin()
        session = Session(bind=connection, join_transaction_mode="create_savepoint")
        try:
            yield session
        finally:
            session.close()
            transaction.rollback()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path,
        log_format="console",
        preload_registry=False,  # tests that need the index share one built per backend
    )


@pytest.fixture
def app(settings: Settings, engine: Engine, db_session: Session) -> FastAPI:
    app = create_app(settings, engine)

    def _test_session() -> Iterator[Session]:
        yield db_session
        db_session.flush()

    app.state.unit_of_work = app.state.single_statements = _test_session
    return app


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    # HTTPS, as deployments serve it: the client then sends kiban's Secure cookies back.
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
        yield client


SignIn = Callable[..., AuthSession]
PostForm = Callable[[str, Mapping[str, str | list[str]]], httpx2.Response]


@pytest.fixture
def post_form(client: TestClient) -> PostForm:
    """POST ``data`` to ``path`` as one of kiban's forms would, with this browser's CSRF token."""

    def post(path: str, data: Mapping[str, str | list[str]]) -> httpx2.Response:
        if CSRF_COOKIE not in client.cookies:
            client.get("/")  # any page hands the browser its token
        token = client.cookies[CSRF_COOKIE]
        return client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)

    return post


@pytest.fixture
def sign_in(client: TestClient, db_session: Session, settings: Settings) -> SignIn:
    """Sign ``client`` in as a subject, as a sign-in page would, without the page.

    ``sign_in(SubjectKind.STAFF, "suzuki", tenant_code="131016", roles=["clerk"])``
    """

    def start(
        kind: SubjectKind,
        subject_id: str,
        *,
        tenant_code: str | None = None,
        roles: Sequence[str] = (),
        acr: str = "aal2",
        amr: Sequence[str] = ("pwd", "otp"),
    ) -> AuthSession:
        response = Response()
        auth_session = start_session(
            db_session,
            response,
            kind=kind,
            subject_id=subject_id,
            tenant_code=tenant_code,
            roles=roles,
            acr=acr,
            amr=amr,
            settings=settings,
        )
        cookie = SimpleCookie(response.headers["set-cookie"])
        client.cookies.set(SESSION_COOKIE, cookie[SESSION_COOKIE].value)
        # The row as the database has it, for tests to refresh after the app changes it.
        stored = db_session.get(AuthSession, auth_session.id)
        assert stored is not None
        return stored

    return start


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    # A missing browser fails rather than skips: `make test` installs it, and a skipped
    # end-to-end suite would pass unnoticed.
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is not installed: run `make browser-deps`")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()
