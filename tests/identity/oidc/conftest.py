"""A resident signed in to kiban, relying parties registered for them, and a running provider."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from identity.oidc.provider_support import (
    TESTSERVER,
    LiveProvider,
    live_resident,
    move_in,
    oidc_settings,
    session_cookie,
)
from kiban.app import create_app
from kiban.core.config import Settings
from kiban.core.sessions import SESSION_COOKIE
from kiban.residents.models import Resident


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return oidc_settings(tmp_path, database_url, TESTSERVER)


@pytest.fixture
def resident(db_session: Session) -> Resident:
    """山田花子, a resident of 千代田区."""
    return move_in(db_session, "131016", "霞が関一丁目")


@pytest.fixture
def resident_browser(
    client: TestClient, db_session: Session, settings: Settings, resident: Resident
) -> TestClient:
    """The resident's browser, signed in to kiban with the card."""
    client.cookies.set(SESSION_COOKIE, session_cookie(db_session, settings, resident))
    return client


@pytest.fixture(scope="module")
def live_provider(
    private_engine: Engine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveProvider]:
    """The app served by uvicorn on a free port, on a database of its own, with committed data."""
    engine = private_engine
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    settings = oidc_settings(
        tmp_path_factory.mktemp("oidc-live"), engine.url.render_as_string(hide_password=False), url
    )
    app = create_app(settings, engine)
    # The engine belongs to the test session, so the app's shutdown must not dispose of it.
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield LiveProvider(url, settings, engine, live_resident(engine))
    server.should_exit = True
    thread.join(timeout=10)
    listener.close()
