"""A gateway's event dispatcher in a process of its own, for the crash tests to kill.

    python subscriber_process.py DATABASE_URL SETTINGS_JSON

It delivers every feed's events to an inbox whose effect is a row in ``test_event_effects``,
written in the transaction that records the event in the inbox (``Inbox.apply``), so that a
SIGKILL at any instant leaves each event's effect either wholly there or not at all.  Each
delivery takes a few milliseconds, so that the process is killed in the middle of the stream.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Integer,
    MetaData,
    String,
    Table,
    Uuid,
    insert,
)

from kiban.core.database import create_database_engine
from kiban.mesh.events import Event, EventBus, EventSettings, Inbox

OWNER = "crash-test-gateway"  # the same after a restart, as a gateway's name would be
DELIVERY_TIME = 0.003

metadata = MetaData()
EFFECTS = Table(
    "test_event_effects",
    metadata,
    # In the order the effects were committed.
    Column("n", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
    Column("subscriber", String(64), nullable=False),
    Column("event_id", Uuid, nullable=False),
    Column("subject", String(128), nullable=False),
    Column("number", Integer, nullable=False),
)


async def main(url: str, settings: EventSettings) -> None:
    engine = create_database_engine(url)
    inbox = Inbox(engine)

    def effect(subscriber: str) -> Callable[[Connection, Event], None]:
        def record(connection: Connection, event: Event) -> None:
            connection.execute(
                insert(EFFECTS).values(
                    subscriber=subscriber,
                    event_id=event.id,
                    subject=event.subject,
                    number=event.payload["n"],
                )
            )

        return record

    async def deliver(subscriber: str, event: Event) -> None:
        await asyncio.sleep(DELIVERY_TIME)
        await inbox.apply(subscriber, event, effect(subscriber))

    async with EventBus(engine, settings, owner=OWNER) as bus:
        await bus.run(deliver)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], EventSettings.model_validate_json(sys.argv[2])))
