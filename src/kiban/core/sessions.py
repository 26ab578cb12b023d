"""Browser sign-in sessions: kept on the server, named by an opaque cookie.

The cookie carries a random token; the table keeps only its SHA-256, so a copy of the
database cannot be replayed as a cookie.  Each session has an idle and an absolute expiry
(shorter for staff, who act on other people's records) and ends at sign-out.

Who signed in is a subject of one kind: a resident (card sign-in, bound to their record in
one tenant), a business account, or a staff member of one tenant with roles.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from sqlalchemy import CursorResult, DateTime, Index, String, delete, or_, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from kiban.core.access import declare_access
from kiban.core.audit import AuditEvent
from kiban.core.config import Settings
from kiban.core.database import Base, insert_together
from kiban.core.dependencies import DbSession
from kiban.core.errors import SignInRequired

SESSION_COOKIE = "kiban_session"
# Touching last_seen_at on every request would make every page view a write.
_TOUCH_INTERVAL = timedelta(seconds=30)


class SubjectKind(StrEnum):
    RESIDENT = "resident"
    BUSINESS = "business"
    STAFF = "staff"


class AuthSession(Base):
    __tablename__ = "auth_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the cookie token
    subject_kind: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[str] = mapped_column(String(64))
    tenant_code: Mapped[str | None] = mapped_column(String(6))
    roles: Mapped[str] = mapped_column(String(128), default="")
    acr: Mapped[str] = mapped_column(String(16))
    amr: Mapped[str] = mapped_column(String(64))
    auth_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    idle_expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_auth_sessions_subject", "subject_kind", "subject_id"),)

    @property
    def amr_values(self) -> list[str]:
        return self.amr.split()

    @property
    def role_set(self) -> frozenset[str]:
        return frozenset(self.roles.split())

    @property
    def kind(self) -> SubjectKind:
        return SubjectKind(self.subject_kind)

    def is_live(self, now: datetime) -> bool:
        return (
            self.ended_at is None
            and _utc(self.idle_expires_at) > now
            and _utc(self.expires_at) > now
        )


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", errors="replace")).hexdigest()


def _timeouts(kind: SubjectKind, settings: Settings) -> tuple[timedelta, timedelta]:
    if kind is SubjectKind.STAFF:
        return (
            timedelta(minutes=settings.staff_idle_minutes),
            timedelta(hours=settings.staff_absolute_hours),
        )
    return (
        timedelta(minutes=settings.person_idle_minutes),
        timedelta(hours=settings.person_absolute_hours),
    )


@dataclass(frozen=True, slots=True)
class NewSession:
    """A session about to be written: its row, and the token its cookie carries."""

    token: str
    row: dict[str, Any]
    lifetime: timedelta

    def auth_session(self) -> AuthSession:
        """The session as written, not tracked by any unit of work."""
        return AuthSession(**self.row)


def new_session(
    *,
    kind: SubjectKind,
    subject_id: str,
    acr: str,
    amr: Sequence[str],
    settings: Settings,
    tenant_code: str | None = None,
    roles: Sequence[str] = (),
    now: datetime | None = None,
) -> NewSession:
    now = now or datetime.now(UTC)
    idle, absolute = _timeouts(kind, settings)
    token = secrets.token_urlsafe(32)
    row = {
        "id": _token_sha256(token),
        "subject_kind": kind.value,
        "subject_id": subject_id,
        "tenant_code": tenant_code,
        "roles": " ".join(sorted(roles)),
        "acr": acr,
        "amr": " ".join(amr),
        "auth_time": now,
        "created_at": now,
        "last_seen_at": now,
        "idle_expires_at": min(now + idle, now + absolute),
        "expires_at": now + absolute,
        "ended_at": None,
    }
    return NewSession(token, row, absolute)


def set_session_cookie(response: Response, session: NewSession, settings: Settings) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        session.token,
        max_age=int(session.lifetime.total_seconds()),
        path="/",
        secure=settings.secure_cookies,
        httponly=True,
        samesite="lax",
    )


def start_session(
    db: Session,
    response: Response,
    *,
    kind: SubjectKind,
    subject_id: str,
    acr: str,
    amr: Sequence[str],
    settings: Settings,
    tenant_code: str | None = None,
    roles: Sequence[str] = (),
    now: datetime | None = None,
    audit_event: Mapping[str, Any] | None = None,
) -> AuthSession:
    """A new session for the subject, and its cookie on ``response``.

    ``audit_event`` (:func:`kiban.core.audit.audit_row`), the sign-in's, is written with the
    session in one statement.  The session returned is not tracked by ``db``: it is written
    with a plain insert, which costs a sign-in less than the unit of work's flush.
    """
    started = new_session(
        kind=kind,
        subject_id=subject_id,
        acr=acr,
        amr=amr,
        settings=settings,
        tenant_code=tenant_code,
        roles=roles,
        now=now,
    )
    insert_together(
        db, (AuthSession, [started.row]), (AuditEvent, [audit_event] if audit_event else [])
    )
    set_session_cookie(response, started, settings)
    return started.auth_session()


def end_session(
    db: Session, response: Response, auth_session: AuthSession, *, now: datetime | None = None
) -> None:
    auth_session.ended_at = now or datetime.now(UTC)
    db.flush()
    response.delete_cookie(SESSION_COOKIE, path="/")


def purge_ended_sessions(db: Session, before: datetime) -> int:
    """Delete sessions that expired or were ended before ``before``; how many."""
    result = db.execute(
        delete(AuthSession).where(
            or_(AuthSession.expires_at < before, AuthSession.ended_at < before)
        )
    )
    return result.rowcount if isinstance(result, CursorResult) else 0


def end_subject_sessions(db: Session, kind: SubjectKind, subject_id: str) -> None:
    """End every session of a subject, e.g. when the account is disabled."""
    db.execute(
        update(AuthSession)
        .where(
            AuthSession.subject_kind == kind.value,
            AuthSession.subject_id == subject_id,
            AuthSession.ended_at.is_(None),
        )
        .values(ended_at=datetime.now(UTC))
    )


def session_from_token(
    db: Session, token: str, settings: Settings, *, now: datetime | None = None
) -> AuthSession | None:
    """The live session the token names, its idle expiry pushed forward; else None."""
    now = now or datetime.now(UTC)
    auth_session = db.get(AuthSession, _token_sha256(token))
    if auth_session is None or not auth_session.is_live(now):
        return None
    if now - _utc(auth_session.last_seen_at) >= _TOUCH_INTERVAL:
        idle, _absolute = _timeouts(auth_session.kind, settings)
        auth_session.last_seen_at = now
        auth_session.idle_expires_at = min(now + idle, _utc(auth_session.expires_at))
        db.flush()
    return auth_session


def current_session(request: Request, db: DbSession) -> AuthSession | None:
    """The request's live session, if it has one."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    settings: Settings = request.app.state.settings
    return session_from_token(db, token, settings)


OptionalSession = Annotated[AuthSession | None, Depends(current_session)]


def local_next(next_path: str | None, default: str = "/") -> str:
    """``next`` when it is a path on this site (one leading slash), else ``default``.

    Sign-in pages send people back to ``next``; anything else would be an open redirect.
    """
    if next_path and next_path.startswith("/") and not next_path.startswith(("//", "/\\")):
        return next_path
    return default


def _require(auth_session: AuthSession | None, *kinds: SubjectKind) -> AuthSession:
    if auth_session is None or auth_session.kind not in kinds:
        who = " or ".join(kind.value for kind in kinds)
        raise SignInRequired(f"Sign in as a {who} to continue. / サインインしてください。")
    return auth_session


@declare_access
def resident_access(auth_session: OptionalSession) -> AuthSession:
    """A resident signed in with their card."""
    return _require(auth_session, SubjectKind.RESIDENT)


@declare_access
def business_access(auth_session: OptionalSession) -> AuthSession:
    """A business ID account holder."""
    return _require(auth_session, SubjectKind.BUSINESS)


@declare_access
def signed_in_access(auth_session: OptionalSession) -> AuthSession:
    """Anyone signed in: a resident, a business account or staff."""
    return _require(auth_session, *SubjectKind)


ResidentSession = Annotated[AuthSession, Depends(resident_access)]
BusinessSession = Annotated[AuthSession, Depends(business_access)]
SignedInSession = Annotated[AuthSession, Depends(signed_in_access)]


@declare_access
def staff_access(auth_session: OptionalSession) -> AuthSession:
    """A staff member of some tenant; tenant routes use ``kiban.core.tenancy`` instead."""
    return _require(auth_session, SubjectKind.STAFF)


StaffSession = Annotated[AuthSession, Depends(staff_access)]
