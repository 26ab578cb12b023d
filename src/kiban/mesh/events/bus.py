"""The event bus: what a gateway uses, whichever transport its settings choose.

::

    async with EventBus(engine, settings) as bus:
        await bus.subscribe("JP/LG/011002/tax", "JP/LG/131016", ["moved-out"])
        await bus.publish([event])
        await bus.run(deliver)  # until cancelled

The bus belongs to one event loop: ``publish`` and ``subscribe`` wake ``run`` there at once;
what other processes publish into the same database is found by polling.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Collection, Iterable, Sequence
from types import TracebackType

from sqlalchemy import Engine

from kiban.mesh.events.database_transport import DatabaseTransport
from kiban.mesh.events.event import Event
from kiban.mesh.events.jetstream import JetStreamTransport
from kiban.mesh.events.leases import Leases
from kiban.mesh.events.settings import EventSettings
from kiban.mesh.events.store import (
    DeadLetter,
    EventStore,
    Publication,
    Subscription,
    checked_feed,
)
from kiban.mesh.events.supervisor import Supervisor
from kiban.mesh.events.transport import Deliver, Transport


class EventBus:
    """The events of the gateway database of ``engine``.  ``owner`` names this process in
    the leases it takes (a host, process and random name by default)."""

    def __init__(
        self, engine: Engine, settings: EventSettings | None = None, *, owner: str | None = None
    ) -> None:
        self.settings = settings or EventSettings()
        self.store = EventStore(engine)
        self.transport: Transport = (
            JetStreamTransport(self.store, self.settings)
            if self.settings.transport == "nats"
            else DatabaseTransport(self.store, self.settings)
        )
        self._leases = Leases(engine, self.settings.lease_ttl, owner)
        self._supervisor: Supervisor | None = None

    async def __aenter__(self) -> EventBus:
        await self.transport.open()
        return self

    async def __aexit__(
        self,
        _type: type[BaseException] | None,
        _error: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        await self.transport.close()

    async def publish(self, events: Sequence[Event]) -> list[Publication]:
        """Publish ``events``: in the outbox, durably, when this returns (see
        :meth:`EventStore.publish`)."""
        publications = await asyncio.to_thread(self.store.publish, list(events))
        self.transport.wake()
        return publications

    async def subscribe(
        self, subscriber: str, publisher: str, types: Iterable[str]
    ) -> list[Subscription]:
        """``subscriber`` receives ``publisher``'s events of ``types`` from now on; the
        caller has checked that it may."""
        subscriptions = await asyncio.to_thread(
            self.store.subscribe, subscriber, publisher, list(types)
        )
        self._wake_supervisor()
        return subscriptions

    async def unsubscribe(
        self, subscriber: str, publisher: str, types: Iterable[str] | None = None
    ) -> None:
        """Stop delivering ``types`` (all: None), including the events of them waiting."""
        feed = checked_feed(subscriber, publisher)
        chosen = None if types is None else list(types)
        if await asyncio.to_thread(self.store.unsubscribe, feed.subscriber, feed.publisher, chosen):
            await self.transport.feed_ended(feed)
        self._wake_supervisor()

    async def subscriptions(
        self, subscriber: str | None = None, publisher: str | None = None
    ) -> list[Subscription]:
        return await asyncio.to_thread(self.store.subscriptions, subscriber, publisher)

    async def dead_letters(self, subscriber: str, publisher: str | None = None) -> list[DeadLetter]:
        return await asyncio.to_thread(self.store.dead_letters, subscriber, publisher)

    async def redeliver(
        self, subscriber: str, publisher: str, event_ids: Collection[uuid.UUID] | None = None
    ) -> int:
        """Deliver ``subscriber``'s dead letters from ``publisher`` again (those of
        ``event_ids``; all: None), with attempts afresh: how many.  Events of their subject
        that went past them are not delivered again."""
        return await self.transport.redeliver(checked_feed(subscriber, publisher), event_ids)

    def _wake_supervisor(self) -> None:
        """The feeds changed: start or stop serving them now, not at the next round."""
        if self._supervisor is not None:
            self._supervisor.wake()

    async def run(self, deliver: Deliver) -> None:
        """Deliver events with ``deliver(subscriber, event)`` until cancelled, on the feeds
        whose lease this process holds."""
        supervisor = Supervisor(
            self._leases, lambda: self.transport.jobs(deliver), self.settings.lease_ttl
        )
        self._supervisor = supervisor
        try:
            await supervisor.run()
        finally:
            self._supervisor = None
