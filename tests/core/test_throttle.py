"""Rate limits and lockouts, and that a refusal keeps the records that led to it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from typing import cast

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from sqlalchemy import Engine, Table, event, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from kiban.app import create_app
from kiban.core.access import PublicAccess
from kiban.core.audit import AuditEvent, AuditOutcome, record_audit
from kiban.core.config import Settings
from kiban.core.database import create_database_engine
from kiban.core.dependencies import DbSession
from kiban.core.errors import AuthenticationFailed, ProblemError
from kiban.core.throttle import (
    SYNC_INTERVAL,
    Locked,
    RateLimited,
    ThrottleBucket,
    clear_failures,
    ensure_not_locked,
    record_failure,
    throttle,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def test_attempts_over_the_limit_are_refused_until_the_window_passes(
    db_session: Session,
) -> None:
    for second in range(3):
        throttle(db_session, "t:ip:1", limit=3, window=MINUTE, now=NOW + timedelta(seconds=second))
    with pytest.raises(RateLimited) as refused:
        throttle(db_session, "t:ip:1", limit=3, window=MINUTE, now=NOW + timedelta(seconds=10))
    assert refused.value.headers == {"Retry-After": "50"}
    # Another bucket is counted on its own, and a new window starts afresh.
    throttle(db_session, "t:ip:2", limit=3, window=MINUTE, now=NOW)
    throttle(db_session, "t:ip:1", limit=3, window=MINUTE, now=NOW + MINUTE)


def test_failures_lock_a_bucket_for_a_while_and_a_success_clears_them(
    db_session: Session,
) -> None:
    def fail(at: datetime) -> bool:
        return record_failure(
            db_session, "t:acct", limit=3, window=MINUTE * 15, lock_for=MINUTE * 15, now=at
        )

    assert not fail(NOW)
    assert not fail(NOW + MINUTE)
    ensure_not_locked(db_session, "t:acct", now=NOW + MINUTE)
    assert fail(NOW + MINUTE * 2)
    with pytest.raises(Locked):
        ensure_not_locked(db_session, "t:acct", now=NOW + MINUTE * 3)
    ensure_not_locked(db_session, "t:acct", now=NOW + MINUTE * 18)
    assert not fail(NOW + MINUTE * 20)
    clear_failures(db_session, "t:acct")
    assert not fail(NOW + MINUTE * 21)
    assert not fail(NOW + MINUTE * 22)


@pytest.fixture
def shared_database(empty_database: str) -> str:
    """A database holding only the shared counts, whose commits other engines see."""
    engine = create_database_engine(empty_database)
    ThrottleBucket.metadata.create_all(engine, tables=[cast(Table, ThrottleBucket.__table__)])
    engine.dispose()
    return empty_database


def _process(url: str, stack: ExitStack) -> Callable[[datetime], bool]:
    """One server process: an engine (and so in-memory counts) of its own on the shared
    database; each call is one request, committed, that says whether it was let through."""
    engine = create_database_engine(url)
    stack.callback(engine.dispose)

    def attempt(at: datetime) -> bool:
        with Session(engine) as session:
            try:
                throttle(session, "t:client:rp", limit=10, window=MINUTE, now=at)
            except RateLimited:
                return False
            finally:
                session.commit()
        return True

    return attempt


def test_attempts_far_below_the_limit_are_shared_at_most_once_a_second(
    shared_database: str,
) -> None:
    engine = create_database_engine(shared_database)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    try:
        with Session(engine) as session:
            for _ in range(400):
                throttle(session, "t:client:busy", limit=1000, window=MINUTE, now=NOW)
            assert statements == []
            throttle(session, "t:client:busy", limit=1000, window=MINUTE, now=NOW + SYNC_INTERVAL)
            assert len(statements) == 1
            shared = session.get(ThrottleBucket, "t:client:busy")
            assert shared is not None
            assert shared.count == 401
    finally:
        engine.dispose()


def test_processes_share_a_limit_through_the_database(shared_database: str) -> None:
    with ExitStack() as stack:
        first, second = _process(shared_database, stack), _process(shared_database, stack)
        # Each process alone lets through up to half the limit before it reads the shared
        # count; after that, every attempt is counted in the shared row at once.
        assert all(first(NOW) for _ in range(8))
        let_through = [second(NOW) for _ in range(8)]
        assert let_through == [True] * 5 + [False] * 3
        assert not first(NOW)
        # Within the limit and a half, whichever process the requests reach.
        assert 8 + sum(let_through) <= 15
        # A new window opens for both.
        assert first(NOW + MINUTE)
        assert second(NOW + MINUTE)


@pytest.fixture
def committing_client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    """The real unit of work per request (commit or roll back), not the tests' shared one."""
    app: FastAPI = create_app(settings, engine)

    @app.post("/test/sign-in/{marker}", dependencies=[PublicAccess])
    def refuse(marker: str, kind: str, request: Request, session: DbSession) -> None:
        record_audit(session, "test.sign_in", AuditOutcome.FAILURE, subject=marker)
        if kind == "refused":
            raise AuthenticationFailed("wrong password")
        raise ProblemError(400, "other", "Other error")

    with TestClient(app, base_url="https://testserver") as client:
        yield client


def test_a_refused_sign_in_keeps_its_audit_event_but_other_errors_roll_back(
    committing_client: TestClient, engine: Engine
) -> None:
    marker = f"m{datetime.now(UTC).timestamp()}"
    refused = committing_client.post(f"/test/sign-in/{marker}", params={"kind": "refused"})
    assert refused.status_code == 401
    assert refused.json()["type"].endswith("/authentication-failed")
    other = committing_client.post(f"/test/sign-in/{marker}-x", params={"kind": "other"})
    assert other.status_code == 400
    with Session(engine) as session:
        subjects = session.scalars(
            select(AuditEvent.subject).where(AuditEvent.subject.like(f"{marker}%"))
        ).all()
    assert subjects == [marker]


def test_audit_events_cannot_be_changed(db_session: Session) -> None:
    record_audit(db_session, "test.change", AuditOutcome.SUCCESS, actor="operator")
    audit_event = db_session.scalars(
        select(AuditEvent).where(AuditEvent.action == "test.change")
    ).one()
    audit_event.outcome = AuditOutcome.DENIED.value
    with pytest.raises(Exception, match="immutable"):
        db_session.flush()


def test_the_database_refuses_to_change_audit_events(db_session: Session) -> None:
    record_audit(db_session, "test.change", AuditOutcome.SUCCESS, actor="operator")
    with pytest.raises(DBAPIError, match="immutable"), db_session.begin_nested():
        db_session.execute(text("UPDATE audit_events SET outcome = 'denied'"))
    with pytest.raises(DBAPIError, match="immutable"), db_session.begin_nested():
        db_session.execute(text("DELETE FROM audit_events"))
