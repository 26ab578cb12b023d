"""The events' tables, in the gateway's own database (``GatewayBase``).

The publisher's gateway keeps the outbox, the subscriptions, the dead letters and, with the
database transport, what each subscriber still has to receive; the subscriber's gateway keeps
its inbox.  Times are microseconds since 1970 UTC, as in the message log: they compare and
sort the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import time
import uuid
from typing import cast

from sqlalchemy import (
    BigInteger,
    Connection,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from kiban.mesh.events.event import SUBJECT_MAX
from kiban.mesh.gateway.database import GatewayBase
from kiban.mesh.identifiers import CODE_MAX_LENGTH


class EventPublisher(GatewayBase):
    """A publisher's last sequence number, in a row each publication locks and moves on.

    Publications of one publisher queue on this lock, so sequence numbers are committed in
    their order: whoever reads up to ``last_seq`` has every event up to it, with no gap
    that a slower transaction could fill later.
    """

    __tablename__ = "gateway_event_publishers"

    publisher: Mapped[str] = mapped_column(Text, primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    relayed_seq: Mapped[int] = mapped_column(BigInteger)  # handed to JetStream up to here


class OutboxEvent(GatewayBase):
    """A published event: durable from the moment ``publish`` returns."""

    __tablename__ = "gateway_event_outbox"

    publisher: Mapped[str] = mapped_column(Text, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    id: Mapped[uuid.UUID] = mapped_column(Uuid)
    type: Mapped[str] = mapped_column(String(CODE_MAX_LENGTH))
    subject: Mapped[str] = mapped_column(String(SUBJECT_MAX))
    occurred_us: Mapped[int] = mapped_column(BigInteger)
    published_us: Mapped[int] = mapped_column(BigInteger)
    payload: Mapped[str] = mapped_column(Text)  # compact JSON

    __table_args__ = (UniqueConstraint("publisher", "id", name="uq_gateway_event_outbox_event_id"),)


class EventSubscription(GatewayBase):
    """A subscriber's interest in one type of a publisher's events, published after ``from_seq``."""

    __tablename__ = "gateway_event_subscriptions"

    subscriber: Mapped[str] = mapped_column(Text, primary_key=True)
    publisher: Mapped[str] = mapped_column(Text, primary_key=True)
    type: Mapped[str] = mapped_column(String(CODE_MAX_LENGTH), primary_key=True)
    from_seq: Mapped[int] = mapped_column(BigInteger)
    subscribed_us: Mapped[int] = mapped_column(BigInteger)


class EventFeed(GatewayBase):
    """What one subscriber receives from one publisher: the unit of ordering and of leases.

    ``queued_seq``: the database transport has queued the publisher's events up to here for
    the subscriber (``EventDelivery``).
    """

    __tablename__ = "gateway_event_feeds"

    subscriber: Mapped[str] = mapped_column(Text, primary_key=True)
    publisher: Mapped[str] = mapped_column(Text, primary_key=True)
    queued_seq: Mapped[int] = mapped_column(BigInteger)


class EventDelivery(GatewayBase):
    """An event a subscriber has still to receive (database transport).

    Only the lowest ``seq`` of a subject is ever tried, so a subject's events arrive in order.
    """

    __tablename__ = "gateway_event_deliveries"

    subscriber: Mapped[str] = mapped_column(Text, primary_key=True)
    publisher: Mapped[str] = mapped_column(Text, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    subject: Mapped[str] = mapped_column(String(SUBJECT_MAX))
    attempts: Mapped[int] = mapped_column(Integer)
    due_us: Mapped[int] = mapped_column(BigInteger)
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index(None, "subscriber", "publisher", "subject", "seq"),)


class DeadLetter(GatewayBase):
    """An event a subscriber did not take after every attempt, kept until redelivered."""

    __tablename__ = "gateway_event_dead_letters"

    subscriber: Mapped[str] = mapped_column(Text, primary_key=True)
    publisher: Mapped[str] = mapped_column(Text, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    attempts: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str] = mapped_column(Text)
    dead_us: Mapped[int] = mapped_column(BigInteger)


class InboxEntry(GatewayBase):
    """An event a subscriber has processed: seen again, it is acknowledged and not processed.

    Keyed by publisher too, so that no publisher can suppress another's events by reusing
    their ids.
    """

    __tablename__ = "gateway_event_inbox"

    subscriber: Mapped[str] = mapped_column(Text, primary_key=True)
    publisher: Mapped[str] = mapped_column(Text, primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    processed_us: Mapped[int] = mapped_column(BigInteger)


class EventLease(GatewayBase):
    """Who works on something (a feed, the relay) until when: one process at a time, or
    a subject's order could not hold."""

    __tablename__ = "gateway_event_leases"

    name: Mapped[str] = mapped_column(Text, primary_key=True)
    owner: Mapped[str] = mapped_column(Text)
    until_us: Mapped[int] = mapped_column(BigInteger)


# The tables, for the Core statements of the dispatchers.
PUBLISHERS = cast(Table, EventPublisher.__table__)
OUTBOX = cast(Table, OutboxEvent.__table__)
SUBSCRIPTIONS = cast(Table, EventSubscription.__table__)
FEEDS = cast(Table, EventFeed.__table__)
DELIVERIES = cast(Table, EventDelivery.__table__)
DEAD_LETTERS = cast(Table, DeadLetter.__table__)
INBOX = cast(Table, InboxEntry.__table__)
LEASES = cast(Table, EventLease.__table__)


def insert_into(connection: Connection, table: Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that can say ON CONFLICT, in the connection's dialect."""
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def now_us() -> int:
    """Now, as the events' tables keep times."""
    return time.time_ns() // 1000
