"""Rate limits and lockouts, shared by every process through the database.

A bucket names what is counted: ``staff-signin:ip:203.0.113.7`` counts one address's
attempts, ``staff-signin:account:131016:suzuki`` one account's failures.  A window opens at a
bucket's first attempt and lasts ``window``.

Two kinds of count, kept differently:

* **Failures and lockouts** (:func:`record_failure`, :func:`ensure_not_locked`) are exact:
  every failure is one atomic upsert in the request's transaction, so a lock set by one
  process stops the next attempt in any other.  They guard passwords, PINs and codes.
* **Rate limits** (:func:`throttle`) count every attempt, successful ones too, which is what
  made them the hottest rows of the database: each request locked its address's and its
  client's row until it committed, so requests of one client ran one at a time.  Now each
  process counts in memory and adds its count to the shared row at most once a second
  (:data:`SYNC_INTERVAL`), and at every attempt once its estimate of the shared count passes
  half the limit; a refusal is always checked against the shared row.  Within one process a
  limit is exact; across *P* processes, up to about *P*/2 × the limit can pass before the
  refusals start, within one second of a burst.  A count flushed by a request that then
  rolls back is lost with it: at most one second of one process's attempts.

Refusals are raised with ``keep_changes``: the request is refused, but the count that led to
the refusal, and any audit event recorded before it, are committed.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from math import ceil
from weakref import WeakKeyDictionary

from fastapi import Request
from sqlalchemy import (
    CursorResult,
    DateTime,
    Executable,
    Integer,
    String,
    bindparam,
    case,
    delete,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.pool import Pool

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
    """``attempts`` counted in a bucket's current window, as one atomic upsert.

    A new window starts at ``started``: when the first of the attempts was made.

    Built once per dialect: building it costs more than running it.
    """
    table = ThrottleBucket.__table__
    insert = (
        postgresql.insert(ThrottleBucket)
        if dialect == "postgresql"
        else sqlite.insert(ThrottleBucket)
    )
    started = bindparam("started", type_=DateTime(timezone=True))
    attempts = bindparam("attempts", type_=Integer)
    expired = table.c.window_started_at <= bindparam("window_floor", type_=DateTime(timezone=True))
    return (
        insert.values(bucket=bindparam("bucket"), window_started_at=started, count=attempts)
        .on_conflict_do_update(
            index_elements=[table.c.bucket],
            set_={
                "count": case((expired, attempts), else_=table.c.count + attempts),
                "window_started_at": case((expired, started), else_=table.c.window_started_at),
            },
        )
        .returning(table.c.count, table.c.window_started_at)
    )


def _count(
    session: Session,
    bucket: str,
    window: timedelta,
    now: datetime,
    *,
    attempts: int = 1,
    first_at: datetime | None = None,
) -> tuple[int, datetime]:
    """Count ``attempts`` in ``bucket``'s current window: the count so far and when it began."""
    statement = _count_statement(session.get_bind().dialect.name)
    parameters = {
        "bucket": bucket,
        "started": first_at or now,
        "window_floor": now - window,
        "attempts": attempts,
    }
    count, started = session.execute(statement, parameters).one()
    return count, _utc(started)


SYNC_INTERVAL = timedelta(seconds=1)
_LOCAL_BUCKETS_KEPT = 50_000  # per database; the least recently used go first


@dataclass(slots=True)
class _LocalCount:
    window_started_at: datetime
    shared: int  # the shared row's count when this process last read it
    pending: int  # attempts counted here and not yet added to the shared row
    synced_at: datetime


class _LocalCounts:
    """This process's rate-limit counts, per database (its connection pool) and bucket."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_database: WeakKeyDictionary[Pool, OrderedDict[str, _LocalCount]] = (
            WeakKeyDictionary()
        )

    def attempt(
        self, database: Pool, bucket: str, *, limit: int, window: timedelta, now: datetime
    ) -> tuple[int, datetime]:
        """Count one attempt: the attempts to add to the shared row now (0: not yet), and
        when this process saw the window's first."""
        with self._lock:
            counts = self._by_database.setdefault(database, OrderedDict())
            entry = counts.get(bucket)
            if entry is None or now >= entry.window_started_at + window:
                entry = counts[bucket] = _LocalCount(now, 0, 0, now)
                if len(counts) > _LOCAL_BUCKETS_KEPT:
                    counts.popitem(last=False)
            counts.move_to_end(bucket)
            entry.pending += 1
            near_limit = 2 * (entry.shared + entry.pending) > limit
            if not near_limit and now - entry.synced_at < SYNC_INTERVAL:
                return 0, entry.window_started_at
            attempts, entry.pending = entry.pending, 0
            return attempts, entry.window_started_at

    def synced(
        self, database: Pool, bucket: str, shared: int, started: datetime, now: datetime
    ) -> None:
        with self._lock:
            entry = self._by_database.setdefault(database, OrderedDict()).get(bucket)
            if entry is not None:
                entry.shared, entry.window_started_at, entry.synced_at = shared, started, now

    def forget(self) -> None:
        with self._lock:
            self._by_database.clear()


_local_counts = _LocalCounts()


def forget_local_counts() -> None:
    """Drop this process's unshared counts (tests start each case from nothing)."""
    _local_counts.forget()


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
    # By the pool: the autocommit sessions' engine is another object on the same pool.
    database = session.get_bind().engine.pool
    attempts, first_at = _local_counts.attempt(
        database, bucket, limit=limit, window=window, now=now
    )
    if not attempts:
        return
    count, started = _count(session, bucket, window, now, attempts=attempts, first_at=first_at)
    _local_counts.synced(database, bucket, count, started, now)
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


# No kiban limit counts over a longer window or locks for longer than this.
LONGEST_WINDOW = timedelta(days=1)


def purge_stale_buckets(session: Session, before: datetime) -> int:
    """Delete counts whose window began, and whose lock ended, before ``before``; how many."""
    result = session.execute(
        delete(ThrottleBucket).where(
            ThrottleBucket.window_started_at < before,
            or_(ThrottleBucket.locked_until.is_(None), ThrottleBucket.locked_until < before),
        )
    )
    return result.rowcount if isinstance(result, CursorResult) else 0


def clear_failures(session: Session, bucket: str) -> None:
    """Forget ``bucket``'s failures, after a success."""
    session.execute(delete(ThrottleBucket).where(ThrottleBucket.bucket == bucket))


def client_ip(request: Request) -> str:
    """The caller's address as the server saw it.

    Behind a reverse proxy, ``kiban serve`` rewrites it from ``X-Forwarded-For`` sent by the
    proxies named in ``KIBAN_FORWARDED_ALLOW_IPS`` (default 127.0.0.1), and from no one
    else; kiban never reads that header itself, or any caller could escape its limits.
    """
    return request.client.host if request.client else "unknown"
