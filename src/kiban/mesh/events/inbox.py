"""The subscriber's side: each event processed once, however often it arrives.

Delivery is at least once — a dispatcher that dies after the subscriber took an event but
before it heard so delivers it again — so the subscriber's gateway keeps the ids of the
events it has processed, per publisher, and acknowledges a second arrival without processing
it again.  At least once plus this inbox is exactly once in effect, to this precise extent:

* ``apply`` runs the effect in the transaction that records the id: both commit or neither,
  exactly once even if the process is killed at any point;
* ``receive`` calls an asynchronous handler (the subscriber's system, over HTTP) and records
  the id once it has returned.  Killed between the two, the handler sees the event again,
  with the same id: a handler that must never act twice keeps the ids it has acted on too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from sqlalchemy import Connection, Engine, select

from kiban.mesh.events.event import Event
from kiban.mesh.events.models import INBOX, insert_into, now_us

Handler = Callable[[Event], Awaitable[None]]
Effect = Callable[[Connection, Event], None]


class Inbox:
    """The inbox in the gateway database of ``engine``, for any number of subscribers."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def receive(self, subscriber: str, event: Event, handler: Handler) -> bool:
        """Have ``handler`` process ``event`` for ``subscriber`` unless it has: True when it
        did.  A handler that raises leaves the event unprocessed (to be delivered again)."""
        if await asyncio.to_thread(self.processed, subscriber, event):
            return False
        await handler(event)
        await asyncio.to_thread(self._record, subscriber, event)
        return True

    async def apply(self, subscriber: str, event: Event, effect: Effect) -> bool:
        """Run ``effect`` (a change to this database) for ``event`` unless it has run, in
        the transaction that records it: True when it did."""

        def once() -> bool:
            with self.engine.begin() as connection:
                if not self.claim(connection, subscriber, event):
                    return False
                effect(connection, event)
                return True

        return await asyncio.to_thread(once)

    def processed(self, subscriber: str, event: Event) -> bool:
        with self.engine.connect() as connection:
            found = connection.scalar(
                select(INBOX.c.processed_us).where(
                    INBOX.c.subscriber == subscriber,
                    INBOX.c.publisher == event.publisher,
                    INBOX.c.event_id == event.id,
                )
            )
        return found is not None

    @staticmethod
    def claim(connection: Connection, subscriber: str, event: Event) -> bool:
        """Record ``event`` as processed for ``subscriber`` in ``connection``'s transaction:
        False when it was already (then nothing is changed)."""
        inserted = connection.execute(
            insert_into(connection, INBOX)
            .values(
                subscriber=subscriber,
                publisher=event.publisher,
                event_id=event.id,
                processed_us=now_us(),
            )
            .on_conflict_do_nothing()
            .returning(INBOX.c.event_id)  # psycopg's row count does not say if it was
        )
        return inserted.first() is not None

    def _record(self, subscriber: str, event: Event) -> None:
        with self.engine.begin() as connection:
            self.claim(connection, subscriber, event)
