"""The publisher gateway's record of events: the outbox, subscriptions and dead letters.

Both transports start here.  ``publish`` commits the events to the outbox before it returns,
so an event is never lost once published, whatever happens to the transport after; the
transports only carry what the outbox holds.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, func, insert, select, update

from kiban.core.logging import get_logger
from kiban.mesh.events.event import Event, EventError, encode_payload
from kiban.mesh.events.models import (
    DEAD_LETTERS,
    DELIVERIES,
    FEEDS,
    OUTBOX,
    PUBLISHERS,
    SUBSCRIPTIONS,
    insert_into,
    now_us,
)
from kiban.mesh.gateway.log_records import microseconds, moment
from kiban.mesh.identifiers import InvalidMeshIdentifier, MemberId, SubsystemId, chosen_code

log = get_logger(__name__)

ERROR_MAX = 1000  # characters of a failed delivery's error kept with it

# What an event is made of in the outbox, in the order ``event_of`` reads it.
EVENT_COLUMNS = (
    OUTBOX.c.id,
    OUTBOX.c.type,
    OUTBOX.c.publisher,
    OUTBOX.c.subject,
    OUTBOX.c.occurred_us,
    OUTBOX.c.payload,
)


@dataclass(frozen=True, slots=True)
class Publication:
    """What ``publish`` did with one event: its sequence number, and whether the id was
    published before (then nothing was published again)."""

    id: uuid.UUID
    seq: int
    duplicate: bool


@dataclass(frozen=True, slots=True, order=True)
class Feed:
    """What one subscriber receives from one publisher: events of one subject arrive in
    order within it; one dispatcher at a time serves it."""

    subscriber: str
    publisher: str

    @property
    def lease(self) -> str:
        return f"feed:{self.subscriber}>{self.publisher}"


@dataclass(frozen=True, slots=True)
class Subscription:
    subscriber: str
    publisher: str
    type: str
    from_seq: int  # the publisher's events after this one
    subscribed_at: datetime


@dataclass(frozen=True, slots=True)
class FeedView:
    types: dict[str, int]  # each subscribed type, with the seq its subscription starts after
    last_seq: int  # the publisher's last event when the view was taken
    since: datetime  # when the first subscription still held was made


@dataclass(frozen=True, slots=True)
class DeadLetter:
    subscriber: str
    seq: int
    event: Event
    attempts: int
    last_error: str
    dead_at: datetime


def event_of(row: Any) -> Event:
    """The event of an outbox row selected with EVENT_COLUMNS (first)."""
    return Event(
        id=row[0],
        type=row[1],
        publisher=row[2],
        subject=row[3],
        occurred_at=moment(row[4]),
        payload=json.loads(row[5]),
    )


def describe(error: BaseException) -> str:
    """A failed delivery's error as kept and shown: its kind and message, never a traceback
    (for a group of errors, as a task group raises, its first)."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    return f"{type(error).__name__}: {error}"[:ERROR_MAX]


def failed(feed: Feed, seq: int, attempts: int, error: str) -> None:
    """Log a failed attempt that will be tried again."""
    log.info(
        "mesh.events.delivery_failed",
        subscriber=feed.subscriber,
        publisher=feed.publisher,
        seq=seq,
        attempts=attempts,
        error=error,
    )


def bury(connection: Connection, feed: Feed, seq: int, attempts: int, error: str) -> None:
    """Make event ``seq`` a dead letter of ``feed`` (again, if it was one)."""
    log.warning(
        "mesh.events.dead_letter",
        subscriber=feed.subscriber,
        publisher=feed.publisher,
        seq=seq,
        attempts=attempts,
        error=error,
    )
    values = {"attempts": attempts, "last_error": error, "dead_us": now_us()}
    connection.execute(
        insert_into(connection, DEAD_LETTERS)
        .values(subscriber=feed.subscriber, publisher=feed.publisher, seq=seq, **values)
        .on_conflict_do_update(
            index_elements=[
                DEAD_LETTERS.c.subscriber,
                DEAD_LETTERS.c.publisher,
                DEAD_LETTERS.c.seq,
            ],
            set_=values,
        )
    )


def _checked(kind: str, text: str) -> str:
    try:
        if kind == "subscriber":
            return str(SubsystemId.parse(text))
        return str(MemberId.parse(text))
    except InvalidMeshIdentifier as error:
        raise EventError(f"the {kind}: {error}") from None


def _types(types: Iterable[str]) -> list[str]:
    try:
        checked = sorted({chosen_code("event type", text) for text in types})
    except InvalidMeshIdentifier as error:
        raise EventError(str(error)) from None
    if not checked:
        raise EventError("name at least one event type")
    return checked


class EventStore:
    """The events in the gateway database of ``engine``.  Synchronous: the transports call
    it from threads, the command line directly."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # Publishing ------------------------------------------------------------------------

    def publish(self, events: Sequence[Event]) -> list[Publication]:
        """Put ``events`` in the outbox, in one transaction committed on return, numbered in
        their order per publisher.  An id the publisher has published before is left as it
        was (``duplicate``): the first publication of an id stands."""
        if not events:
            return []
        now = now_us()
        with self.engine.begin() as connection:
            heads = {
                publisher: _lock_head(connection, publisher)
                for publisher in sorted({event.publisher for event in events})
            }
            known = _published(connection, events)
            results: list[Publication] = []
            rows: list[dict[str, Any]] = []
            for event in events:
                key = (event.publisher, event.id)
                if key in known:
                    results.append(Publication(event.id, known[key], duplicate=True))
                    continue
                seq = heads[event.publisher] + 1
                heads[event.publisher] = known[key] = seq
                rows.append(
                    {
                        "publisher": event.publisher,
                        "seq": seq,
                        "id": event.id,
                        "type": event.type,
                        "subject": event.subject,
                        "occurred_us": microseconds(event.occurred_at),
                        "published_us": now,
                        "payload": encode_payload(event.payload),
                    }
                )
                results.append(Publication(event.id, seq, duplicate=False))
            if rows:
                connection.execute(insert(OUTBOX), rows)
                for publisher, last_seq in heads.items():
                    connection.execute(
                        update(PUBLISHERS)
                        .where(PUBLISHERS.c.publisher == publisher)
                        .values(last_seq=last_seq)
                    )
        return results

    # Subscriptions --------------------------------------------------------------------

    def subscribe(
        self, subscriber: str, publisher: str, types: Iterable[str]
    ) -> list[Subscription]:
        """``subscriber`` receives the events of ``types`` that ``publisher`` publishes from
        now on.  Subscribing again to a type changes nothing.  Whether the subscriber may
        is the caller's to decide (the gateway checks its access rights)."""
        subscriber, publisher = _checked("subscriber", subscriber), _checked("publisher", publisher)
        checked = _types(types)
        now = now_us()
        with self.engine.begin() as connection:
            head = _head(connection, publisher)
            connection.execute(
                insert_into(connection, SUBSCRIPTIONS)
                .values(
                    [
                        {
                            "subscriber": subscriber,
                            "publisher": publisher,
                            "type": event_type,
                            "from_seq": head,
                            "subscribed_us": now,
                        }
                        for event_type in checked
                    ]
                )
                .on_conflict_do_nothing()
            )
            connection.execute(
                insert_into(connection, FEEDS)
                .values(subscriber=subscriber, publisher=publisher, queued_seq=head)
                .on_conflict_do_nothing()
            )
        return self.subscriptions(subscriber, publisher)

    def unsubscribe(
        self, subscriber: str, publisher: str, types: Iterable[str] | None = None
    ) -> bool:
        """Stop ``subscriber`` receiving ``types`` (every type: None) of ``publisher``'s events,
        including those waiting for it.  True when it now receives none of them at all."""
        subscriber, publisher = _checked("subscriber", subscriber), _checked("publisher", publisher)
        feed = and_(
            SUBSCRIPTIONS.c.subscriber == subscriber, SUBSCRIPTIONS.c.publisher == publisher
        )
        waiting = and_(DELIVERIES.c.subscriber == subscriber, DELIVERIES.c.publisher == publisher)
        with self.engine.begin() as connection:
            if types is None:
                connection.execute(delete(SUBSCRIPTIONS).where(feed))
            else:
                checked = _types(types)
                connection.execute(
                    delete(SUBSCRIPTIONS).where(feed, SUBSCRIPTIONS.c.type.in_(checked))
                )
                of_types = select(OUTBOX.c.seq).where(
                    OUTBOX.c.publisher == publisher, OUTBOX.c.type.in_(checked)
                )
                connection.execute(
                    delete(DELIVERIES).where(waiting, DELIVERIES.c.seq.in_(of_types))
                )
            if connection.scalar(select(func.count()).select_from(SUBSCRIPTIONS).where(feed)):
                return False
            connection.execute(delete(DELIVERIES).where(waiting))
            connection.execute(
                delete(FEEDS).where(
                    FEEDS.c.subscriber == subscriber, FEEDS.c.publisher == publisher
                )
            )
            return True

    def subscriptions(
        self, subscriber: str | None = None, publisher: str | None = None
    ) -> list[Subscription]:
        query = select(SUBSCRIPTIONS).order_by(
            SUBSCRIPTIONS.c.subscriber, SUBSCRIPTIONS.c.publisher, SUBSCRIPTIONS.c.type
        )
        if subscriber is not None:
            query = query.where(SUBSCRIPTIONS.c.subscriber == _checked("subscriber", subscriber))
        if publisher is not None:
            query = query.where(SUBSCRIPTIONS.c.publisher == _checked("publisher", publisher))
        with self.engine.connect() as connection:
            return [
                Subscription(
                    row.subscriber, row.publisher, row.type, row.from_seq, moment(row.subscribed_us)
                )
                for row in connection.execute(query)
            ]

    def feeds(self) -> list[Feed]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(FEEDS.c.subscriber, FEEDS.c.publisher).order_by(
                    FEEDS.c.subscriber, FEEDS.c.publisher
                )
            )
            return [Feed(subscriber, publisher) for subscriber, publisher in rows]

    # Dead letters ---------------------------------------------------------------------

    def dead_letters(self, subscriber: str, publisher: str | None = None) -> list[DeadLetter]:
        """The events ``subscriber`` did not take after every attempt, oldest first."""
        subscriber = _checked("subscriber", subscriber)
        query = (
            select(
                *EVENT_COLUMNS,
                DEAD_LETTERS.c.seq,
                DEAD_LETTERS.c.attempts,
                DEAD_LETTERS.c.last_error,
                DEAD_LETTERS.c.dead_us,
            )
            .join(
                DEAD_LETTERS,
                and_(
                    DEAD_LETTERS.c.publisher == OUTBOX.c.publisher,
                    DEAD_LETTERS.c.seq == OUTBOX.c.seq,
                ),
            )
            .where(DEAD_LETTERS.c.subscriber == subscriber)
            .order_by(DEAD_LETTERS.c.publisher, DEAD_LETTERS.c.seq)
        )
        if publisher is not None:
            query = query.where(DEAD_LETTERS.c.publisher == _checked("publisher", publisher))
        with self.engine.connect() as connection:
            return [
                DeadLetter(
                    subscriber,
                    row.seq,
                    event_of(row),
                    row.attempts,
                    row.last_error,
                    moment(row.dead_us),
                )
                for row in connection.execute(query)
            ]

    def dead_letters_of(
        self, connection: Connection, feed: Feed, event_ids: Collection[uuid.UUID] | None
    ) -> list[tuple[int, Event]]:
        """``feed``'s dead letters (those of ``event_ids``; all: None), to redeliver: each
        transport redelivers them its own way, then drops them.  Refused (EventError) when
        the subscriber no longer subscribes to the publisher."""
        subscribed = connection.scalar(
            select(FEEDS.c.queued_seq).where(
                FEEDS.c.subscriber == feed.subscriber, FEEDS.c.publisher == feed.publisher
            )
        )
        if subscribed is None:
            raise EventError(
                f"{feed.subscriber} subscribes to no events of {feed.publisher} any more:"
                " subscribe again before redelivering"
            )
        query = (
            select(DEAD_LETTERS.c.seq, *EVENT_COLUMNS)
            .join(
                OUTBOX,
                and_(
                    OUTBOX.c.publisher == DEAD_LETTERS.c.publisher,
                    OUTBOX.c.seq == DEAD_LETTERS.c.seq,
                ),
            )
            .where(
                DEAD_LETTERS.c.subscriber == feed.subscriber,
                DEAD_LETTERS.c.publisher == feed.publisher,
            )
            .order_by(DEAD_LETTERS.c.seq)
        )
        if event_ids is not None:
            query = query.where(OUTBOX.c.id.in_(list(event_ids)))
        return [(row[0], event_of(row[1:])) for row in connection.execute(query)]

    @staticmethod
    def drop_dead_letters(connection: Connection, feed: Feed, seqs: Collection[int]) -> None:
        connection.execute(
            delete(DEAD_LETTERS).where(
                DEAD_LETTERS.c.subscriber == feed.subscriber,
                DEAD_LETTERS.c.publisher == feed.publisher,
                DEAD_LETTERS.c.seq.in_(list(seqs)),
            )
        )

    def feed_view(self, feed: Feed) -> FeedView:
        """``feed``'s subscriptions now, for a transport that filters events itself."""
        with self.engine.begin() as connection:
            # The head first: a subscription made after it starts after it, so the view
            # holds for every event up to it.
            last_seq = connection.scalar(
                select(PUBLISHERS.c.last_seq).where(PUBLISHERS.c.publisher == feed.publisher)
            )
            rows = connection.execute(
                select(
                    SUBSCRIPTIONS.c.type, SUBSCRIPTIONS.c.from_seq, SUBSCRIPTIONS.c.subscribed_us
                ).where(
                    SUBSCRIPTIONS.c.subscriber == feed.subscriber,
                    SUBSCRIPTIONS.c.publisher == feed.publisher,
                )
            ).all()
        return FeedView(
            types={row.type: row.from_seq for row in rows},
            last_seq=last_seq or 0,
            since=moment(min((row.subscribed_us for row in rows), default=now_us())),
        )


def checked_feed(subscriber: str, publisher: str) -> Feed:
    """The feed of ``subscriber`` from ``publisher``, both well formed (EventError if not)."""
    return Feed(_checked("subscriber", subscriber), _checked("publisher", publisher))


def _head(connection: Connection, publisher: str) -> int:
    """``publisher``'s last sequence number, its row made when it has none."""
    connection.execute(
        insert_into(connection, PUBLISHERS)
        .values(publisher=publisher, last_seq=0, relayed_seq=0)
        .on_conflict_do_nothing()
    )
    last: int = connection.execute(
        select(PUBLISHERS.c.last_seq).where(PUBLISHERS.c.publisher == publisher)
    ).scalar_one()
    return last


def _lock_head(connection: Connection, publisher: str) -> int:
    """``publisher``'s last sequence number, its row locked until the transaction ends (on
    SQLite, the first write takes the database's write lock: the same effect)."""
    lock = (
        update(PUBLISHERS)
        .where(PUBLISHERS.c.publisher == publisher)
        .values(last_seq=PUBLISHERS.c.last_seq)
        .returning(PUBLISHERS.c.last_seq)
    )
    last = connection.scalar(lock)
    if last is None:
        _head(connection, publisher)
        last = connection.scalar(lock)
    return int(last)


def _published(connection: Connection, events: Sequence[Event]) -> dict[tuple[str, uuid.UUID], int]:
    """Which of ``events``' (publisher, id) are in the outbox already, with their numbers."""
    rows = connection.execute(
        select(OUTBOX.c.publisher, OUTBOX.c.id, OUTBOX.c.seq).where(
            OUTBOX.c.publisher.in_({event.publisher for event in events}),
            OUTBOX.c.id.in_({event.id for event in events}),
        )
    )
    return {(publisher, event_id): seq for publisher, event_id, seq in rows}
