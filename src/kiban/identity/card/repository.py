"""Every query over card sign-in requests; state changes are single conditional updates.

Sign-in runs these on every request of every sign-in, so they are Core statements that read
plain values, not ORM objects to track.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import (
    CursorResult,
    Executable,
    RowMapping,
    Table,
    bindparam,
    delete,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from kiban.core.audit import AuditEvent
from kiban.core.database import insert_together
from kiban.core.sessions import AuthSession
from kiban.core.throttle import ThrottleBucket
from kiban.identity.card.models import CardSignInRequest, SignInStatus
from kiban.registry.localgov.models import LocalGovernment
from kiban.residents.codes import ResidentStatus
from kiban.residents.models import Resident

_TABLE = cast(Table, CardSignInRequest.__table__)


def _utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; kiban only ever stores UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class SignIn:
    """A sign-in request as read; it changes only through the repository's updates."""

    code: str
    challenge: str
    browser_secret_sha256: str
    next_path: str
    status: str
    created_at: datetime
    expires_at: datetime
    tenant_code: str | None = None
    addressee_number: str | None = None
    certificate_serial: str | None = None

    @classmethod
    def from_row(cls, row: RowMapping) -> SignIn:
        return cls(
            code=row["code"],
            challenge=row["challenge"],
            browser_secret_sha256=row["browser_secret_sha256"],
            next_path=row["next_path"],
            status=row["status"],
            created_at=_utc(row["created_at"]),
            expires_at=_utc(row["expires_at"]),
            tenant_code=row["tenant_code"],
            addressee_number=row["addressee_number"],
            certificate_serial=row["certificate_serial"],
        )


_COLUMNS = [_TABLE.c[name] for name in SignIn.__dataclass_fields__]

# Built once: sign-in runs each of these several hundred times a second, and building a
# statement costs more than sending it.  Parameters are bound at execution.
_GET = select(*_COLUMNS).where(_TABLE.c.code == bindparam("match_code"))
_GET_WITH_LOCK = select(
    *_COLUMNS,
    select(ThrottleBucket.__table__.c.locked_until)
    .where(ThrottleBucket.__table__.c.bucket == bindparam("bucket"))
    .scalar_subquery()
    .label("locked_until"),
).where(_TABLE.c.code == bindparam("match_code"))
_APPROVE = (
    update(_TABLE)
    .where(
        _TABLE.c.code == bindparam("match_code"),
        _TABLE.c.status == SignInStatus.PENDING.value,
        _TABLE.c.expires_at > bindparam("now"),
    )
    .values(
        status=SignInStatus.APPROVED.value,
        tenant_code=bindparam("tenant_code"),
        addressee_number=bindparam("addressee_number"),
        certificate_serial=bindparam("certificate_serial"),
        approved_at=bindparam("now"),
    )
)
_COMPLETE = (
    update(_TABLE)
    .where(
        _TABLE.c.code == bindparam("match_code"),
        _TABLE.c.status == SignInStatus.APPROVED.value,
        _TABLE.c.expires_at > bindparam("deadline_after"),
    )
    .values(status=SignInStatus.COMPLETED.value, completed_at=bindparam("now"))
)


@cache
def _create_statement(dialect: str) -> Executable:
    """Insert a request, or take over the code of one that expired long enough ago."""
    insert = postgresql.insert(_TABLE) if dialect == "postgresql" else sqlite.insert(_TABLE)
    return insert.on_conflict_do_update(
        index_elements=[_TABLE.c.code],
        set_={
            **{column.name: insert.excluded[column.name] for column in _COLUMNS[1:]},
            "approved_at": None,
            "completed_at": None,
        },
        where=_TABLE.c.expires_at <= bindparam("reusable_from"),
    ).returning(_TABLE.c.code)


class SignInRequestRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, code: str) -> SignIn | None:
        row = self.session.execute(_GET, {"match_code": code}).first()
        return SignIn.from_row(row._mapping) if row else None

    def get_with_lock(self, code: str, bucket: str) -> tuple[SignIn | None, datetime | None]:
        """The request and, read in the same statement, until when ``bucket`` is locked."""
        row = self.session.execute(_GET_WITH_LOCK, {"match_code": code, "bucket": bucket}).first()
        if row is None:
            return None, None
        locked_until = row.locked_until
        return SignIn.from_row(row._mapping), _utc(locked_until) if locked_until else None

    def create(self, signin: SignIn, *, reusable_from: datetime) -> bool:
        """Store a new request; False if its code belongs to a request still alive.

        A request that expired at or before ``reusable_from`` gives its code up, in the same
        statement.
        """
        statement = _create_statement(self.session.get_bind().dialect.name)
        values = {column.name: getattr(signin, column.name) for column in _COLUMNS}
        result = self.session.execute(statement, {**values, "reusable_from": reusable_from})
        return result.first() is not None

    def approve(
        self,
        code: str,
        *,
        now: datetime,
        tenant_code: str,
        addressee_number: str,
        certificate_serial: str,
        audit_event: Mapping[str, Any],
    ) -> bool:
        """Pending and unexpired → approved, with ``audit_event``, in one statement; False,
        and nothing written, if another approval won."""
        parameters = {
            "match_code": code,
            "now": now,
            "tenant_code": tenant_code,
            "addressee_number": addressee_number,
            "certificate_serial": certificate_serial,
        }
        return insert_together(
            self.session, (AuditEvent, [audit_event]), after=(_APPROVE, parameters)
        )

    def complete(
        self,
        code: str,
        *,
        now: datetime,
        deadline_after: datetime,
        session_row: Mapping[str, Any],
        audit_event: Mapping[str, Any],
    ) -> bool:
        """Approved → completed, once, with the resident's session and ``audit_event``, in
        one statement; False, and nothing written, if it was completed already or too late."""
        parameters = {"match_code": code, "now": now, "deadline_after": deadline_after}
        return insert_together(
            self.session,
            (AuthSession, [session_row]),
            (AuditEvent, [audit_event]),
            after=(_COMPLETE, parameters),
        )

    def purge_expired(self, before: datetime) -> int:
        """Delete requests that expired before ``before``; how many."""
        result = self.session.execute(
            delete(CardSignInRequest).where(CardSignInRequest.expires_at < before)
        )
        return result.rowcount if isinstance(result, CursorResult) else 0


class DemoResidentRepository:
    """The seeded residents the demo wallet holds cards for."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def adults(self, tenant_code: str, born_on_or_before: date, limit: int) -> Sequence[Resident]:
        statement = (
            select(Resident)
            .where(
                Resident.tenant_code == tenant_code,
                Resident.status == ResidentStatus.RESIDENT,
                Resident.birth_date <= born_on_or_before,
            )
            .order_by(Resident.addressee_number)
            .limit(limit)
        )
        return self.session.scalars(statement).all()

    def resident(self, tenant_code: str, addressee_number: str) -> Resident | None:
        return self.session.get(Resident, (tenant_code, addressee_number))

    def municipality_name(self, lg_code: str) -> str:
        government = self.session.get(LocalGovernment, lg_code)
        return government.name if government else lg_code
