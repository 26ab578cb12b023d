"""Rate limits and lockouts, counted in the database so that every process shares them.

A bucket names what is counted: ``staff-signin:ip:203.0.113.7`` counts one address's
attempts, ``staff-signin:account:131016:suzuki`` one account's failures.  A window opens at a
bucket's first attempt and lasts ``window``; one atomic upsert counts an attempt, so
concurrent requests never lose a count.

Refusals are raised with ``keep_changes``: the request is refused, but the count that led to
the refusal, and any audit event recorded before it, are committed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from math import ceil

from fastapi import Request
from sqlalchemy import (
    DateTime,
    Executable,
    Integer,
    String,
    bindparam,
    case,
    delete,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from kiban.core.database import Base
from kiban.core.errors import ProblemError


class ThrottleBucket(Base):
    __tablename__ = "throttle_buckets"

    bucket: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    count: Mapped[int] = mapped_column(Integer)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


def _retry_after(seconds: float) -> dict[str, str]:
    return {"Retry-After": str(max(1, ceil(seconds)))}


class RateLimited(ProblemError):
    keep_changes = True

    def __init__(self, retry_after_seconds: float) -> None:
        super().__init__(
            429,
            "rate-limited",
            "Too many requests / リクエストが多すぎます",
            "Too many attempts; wait before trying again."
            " / 試行回数が多すぎます。しばらく待ってから再度お試しください。",
            headers=_retry_after(retry_after_seconds),
        )


class Locked(ProblemError):
    keep_changes = True

    def __init__(self, retry_after_seconds: float) -> None:
        super().__init__(
            429,
            "account-locked",
            "Temporarily locked / 一時的にロックされています",
            "Too many failed attempts; sign-in is locked for a while."
            " / 失敗が続いたため、しばらくの間サインインできません。",
            headers=_retry_after(retry_after_seconds),
        )


def _utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; kiban only ever stores UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@cache
def _count_statement(dialect: str) -> Executable:
    """One attempt counted in a bucket's current window, as one atomic upsert.

    Built once per dialect: building it costs more than running it.
    """
    table = ThrottleBucket.__table__
    insert = (
        postgresql.insert(ThrottleBucket)
        if dialect == "postgresql"
        else sqlite.insert(ThrottleBucket)
    )
    now = bindparam("now", type_=DateTime(timezone=True))
    expired = table.c.window_started_at <= bindparam("window_floor", type_=DateTime(timezone=True))
    return (
        insert.values(bucket=bindparam("bucket"), window_started_at=now, count=1)
        .on_conflict_do_update(
            index_elements=[table.c.bucket],
            set_={
                "count": case((expired, 1), else_=table.c.count + 1),
                "window_started_at": case((expired, now), else_=table.c.window_started_at),
            },
        )
        .returning(table.c.count, table.c.window_started_at)
    )


def _count(session: Session, bucket: str, window: timedelta, now: datetime) -> tuple[int, datetime]:
    """Count one attempt in ``bucket``'s current window: the count so far and when it began."""
    statement = _count_statement(session.get_bind().dialect.name)
    parameters = {"bucket": bucket, "now": now, "window_floor": now - window}
    count, started = session.execute(statement, parameters).one()
    return count, _utc(started)


def throttle(
    session: Session,
    bucket: str,
    *,
    limit: int,
    window: timedelta,
    now: datetime | None = None,
) -> None:
    """Count an attempt; refuse it when more than ``limit`` fall within ``window``."""
    now = now or datetime.now(UTC)
    count, started = _count(session, bucket, window, now)
    if count > limit:
        raise RateLimited((started + window - now).total_seconds())


def ensure_not_locked(session: Session, bucket: str, *, now: datetime | None = None) -> None:
    now = now or datetime.now(UTC)
    locked_until = session.scalar(
        select(ThrottleBucket.locked_until).where(ThrottleBucket.bucket == bucket)
    )
    if locked_until is not None and _utc(locked_until) > now:
        raise Locked((_utc(locked_until) - now).total_seconds())


def record_failure(
    session: Session,
    bucket: str,
    *,
    limit: int,
    window: timedelta,
    lock_for: timedelta,
    now: datetime | None = None,
) -> bool:
    """Count a failure; after ``limit`` of them within ``window``, lock the bucket.

    Returns whether this failure locked it.
    """
    now = now or datetime.now(UTC)
    count, _started = _count(session, bucket, window, now)
    if count < limit:
        return False
    session.execute(
        update(ThrottleBucket)
        .where(ThrottleBucket.bucket == bucket)
        .values(locked_until=now + lock_for, count=0, window_started_at=now)
    )
    return True


def clear_failures(session: Session, bucket: str) -> None:
    """Forget ``bucket``'s failures, after a success."""
    session.execute(delete(ThrottleBucket).where(ThrottleBucket.bucket == bucket))


def client_ip(request: Request) -> str:
    """The caller's address as the server saw it.

    A deployment behind a proxy runs uvicorn with ``--proxy-headers`` and its
    ``--forwarded-allow-ips``, which rewrite this from ``X-Forwarded-For``; kiban never
    trusts that header itself, or any caller could escape its limits.
    """
    return request.client.host if request.client else "unknown"
