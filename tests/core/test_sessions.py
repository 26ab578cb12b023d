"""Browser sessions: cookies, expiry, sign-out and the access rules built on them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie

import pytest
from fastapi import FastAPI, Response
from fastapi.responses import HTMLResponse
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from conftest import SignIn
from kiban.core.config import Settings
from kiban.core.errors import SignInRequired
from kiban.core.sessions import (
    SESSION_COOKIE,
    AuthSession,
    ResidentSession,
    SignedInSession,
    SubjectKind,
    end_session,
    session_from_token,
    start_session,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _start(db_session: Session, settings: Settings, kind: SubjectKind) -> tuple[str, str]:
    response = Response()
    auth_session = start_session(
        db_session,
        response,
        kind=kind,
        subject_id="131016:000000012",
        tenant_code="131016",
        acr="aal3",
        amr=["swk", "pin"],
        settings=settings,
        now=NOW,
    )
    return auth_session.id, response.headers["set-cookie"]


def test_the_cookie_is_secure_http_only_and_same_site(
    db_session: Session, settings: Settings
) -> None:
    session_id, header = _start(db_session, settings, SubjectKind.RESIDENT)
    cookie = SimpleCookie(header)[SESSION_COOKIE]
    assert cookie["secure"]
    assert cookie["httponly"]
    assert cookie["samesite"].lower() == "lax"
    # Only the token's hash is stored: the table cannot be replayed as cookies.
    assert cookie.value != session_id
    assert db_session.scalar(select(AuthSession.id).where(AuthSession.id == cookie.value)) is None


def test_staff_sessions_end_after_idle_minutes_and_absolute_hours(
    db_session: Session, settings: Settings
) -> None:
    _id, header = _start(db_session, settings, SubjectKind.STAFF)
    token = SimpleCookie(header)[SESSION_COOKIE].value
    idle = timedelta(minutes=settings.staff_idle_minutes)
    assert session_from_token(db_session, token, settings, now=NOW + idle / 2) is not None
    # Activity pushes the idle expiry forward ...
    later = NOW + idle / 2 + idle - timedelta(seconds=1)
    assert session_from_token(db_session, token, settings, now=later) is not None
    # ... but never past the absolute expiry, and idleness ends the session.
    assert session_from_token(db_session, token, settings, now=later + idle) is None
    absolute = NOW + timedelta(hours=settings.staff_absolute_hours)
    assert session_from_token(db_session, token, settings, now=absolute) is None


def test_a_resident_session_outlives_a_staff_idle_period(
    db_session: Session, settings: Settings
) -> None:
    _id, header = _start(db_session, settings, SubjectKind.RESIDENT)
    token = SimpleCookie(header)[SESSION_COOKIE].value
    moment = NOW + timedelta(minutes=settings.staff_idle_minutes + 1)
    assert session_from_token(db_session, token, settings, now=moment) is not None


def test_an_ended_session_is_gone(db_session: Session, settings: Settings) -> None:
    session_id, header = _start(db_session, settings, SubjectKind.RESIDENT)
    token = SimpleCookie(header)[SESSION_COOKIE].value
    auth_session = db_session.get(AuthSession, session_id)
    assert auth_session is not None
    response = Response()
    end_session(db_session, response, auth_session)
    assert session_from_token(db_session, token, settings) is None
    assert 'kiban_session=""' in response.headers["set-cookie"]


@pytest.fixture
def guarded(app: FastAPI) -> FastAPI:
    @app.get("/test/resident-only")
    def resident_only(auth_session: ResidentSession) -> dict[str, str]:
        return {"subject": auth_session.subject_id}

    @app.get("/test/signed-in")
    def signed_in(auth_session: SignedInSession) -> dict[str, str]:
        return {"kind": auth_session.subject_kind}

    return app


def test_access_rules_need_the_right_kind_of_session(
    guarded: FastAPI, client: TestClient, sign_in: SignIn
) -> None:
    anonymous = client.get("/test/resident-only")
    assert anonymous.status_code == 401
    assert anonymous.json()["type"].endswith("/sign-in-required")
    sign_in(SubjectKind.BUSINESS, "acct-1")
    assert client.get("/test/signed-in").json() == {"kind": "business"}
    assert client.get("/test/resident-only").status_code == 401
    sign_in(SubjectKind.RESIDENT, "131016:000000012", tenant_code="131016")
    assert client.get("/test/resident-only").json() == {"subject": "131016:000000012"}


def test_a_page_without_a_session_redirects_to_sign_in(app: FastAPI, client: TestClient) -> None:
    @app.get("/test/page", response_class=HTMLResponse)
    def page() -> str:
        raise SignInRequired("sign in")

    response = client.get("/test/page?tab=1", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?next=%2Ftest%2Fpage%3Ftab%3D1"
