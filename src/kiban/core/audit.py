"""The audit trail: one append-only row for every authentication and consent decision.

Audit rows say who did what to whom and how it ended, by reference (``resident:131016:…``,
an account id), never with names, addresses or numbers in their details.  They live in the
database, which is protected like the records themselves, and never in the logs.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypedDict, Unpack

import structlog
from sqlalchemy import JSON, BigInteger, DateTime, Index, Integer, String, event, insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from kiban.core.database import Base

AuditDetail = str | int | bool | None


class AuditOutcome(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"  # credentials or a proof were presented and did not hold
    DENIED = "denied"  # a valid caller asked for something they may not have or refused it


class AuditEvent(Base):
    __tablename__ = "audit_events"

    # BIGINT on PostgreSQL; SQLite only autoincrements an INTEGER PRIMARY KEY.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    action: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str | None] = mapped_column(String(128))
    tenant_code: Mapped[str | None] = mapped_column(String(6))
    subject: Mapped[str | None] = mapped_column(String(128))
    request_id: Mapped[str | None] = mapped_column(String(128))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    __table_args__ = (
        Index("ix_audit_events_occurred_at", "occurred_at"),
        Index("ix_audit_events_subject", "subject", "occurred_at"),
        Index("ix_audit_events_tenant", "tenant_code", "occurred_at"),
    )


class ImmutableAuditError(RuntimeError):
    """Code tried to change or delete an audit event."""


def _refuse_change(_mapper: Any, _connection: Any, _target: AuditEvent) -> None:
    raise ImmutableAuditError("audit events are immutable / 監査記録は変更できません")


event.listen(AuditEvent, "before_update", _refuse_change)
event.listen(AuditEvent, "before_delete", _refuse_change)


class AuditFields(TypedDict, total=False):
    actor: str | None
    tenant_code: str | None
    subject: str | None
    details: Mapping[str, AuditDetail] | None
    now: datetime | None


def current_request_id() -> str | None:
    """The id of the request being answered (``RequestIdMiddleware``), for its audit rows."""
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    return request_id if isinstance(request_id, str) else None


def audit_row(action: str, outcome: AuditOutcome, **fields: Unpack[AuditFields]) -> dict[str, Any]:
    """An audit event's row, for :func:`record_audit` or to insert with other rows at once
    (:func:`kiban.core.database.insert_together`)."""
    details = fields.get("details")
    return {
        "occurred_at": fields.get("now") or datetime.now(UTC),
        "action": action,
        "outcome": outcome.value,
        "actor": fields.get("actor"),
        "tenant_code": fields.get("tenant_code"),
        "subject": fields.get("subject"),
        "request_id": current_request_id(),
        "details": dict(details) if details else None,
    }


_INSERT = insert(AuditEvent)


def record_audit(
    session: Session, action: str, outcome: AuditOutcome, **fields: Unpack[AuditFields]
) -> None:
    """Append one audit event in ``session``'s transaction, at once.

    A plain insert, not an object for the unit of work to flush: every sign-in and token
    exchange writes one, and the ORM's bookkeeping would cost more than the row.
    """
    session.connection().execute(_INSERT, audit_row(action, outcome, **fields))
