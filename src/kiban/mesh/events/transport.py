"""What a transport is: how events get from the outbox to each subscriber.

Both transports deliver at least once, in order per subject within a feed, with the same
retries and dead letters; they differ in where a subscriber's progress is kept (the
database's delivery table, or a JetStream consumer).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Collection
from typing import Protocol

from kiban.mesh.events.event import Event
from kiban.mesh.events.store import Feed
from kiban.mesh.events.supervisor import Job

# Hands ``event`` to ``subscriber`` (a subsystem id); raises when it was not taken.
Deliver = Callable[[str, Event], Awaitable[None]]


class TransportUnavailable(RuntimeError):
    """The transport cannot be reached; the message says where and why, on one line."""


class Transport(Protocol):
    async def open(self) -> None:
        """Connect to what the transport needs beyond the database."""

    async def close(self) -> None: ...

    def jobs(self, deliver: Deliver) -> dict[str, Job]:
        """The jobs to run, by lease name (called in a thread: it reads the database)."""

    def wake(self) -> None:
        """Events were published or redelivered in this process: look now, not at the next
        poll."""

    async def redeliver(self, feed: Feed, event_ids: Collection[uuid.UUID] | None) -> int:
        """Deliver ``feed``'s dead letters (those of ``event_ids``; all: None) again: how many."""

    async def feed_ended(self, feed: Feed) -> None:
        """``feed``'s last subscription is gone: drop what the transport kept for it."""
