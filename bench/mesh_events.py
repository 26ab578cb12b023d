"""How many mesh events a gateway publishes and delivers per second, on either transport.

Publishes ``--events`` events (about 200 bytes of payload each, over ``--subjects`` subjects)
into the outbox in batches of ``--publish-batch`` (timed: events/s published, each batch one
committed transaction), then starts a dispatcher and times until each of ``--subscribers``
subscribers has taken every event through its inbox (``Inbox.receive``, in the same
database, a handler that only counts): events/s delivered, summed over the subscribers.
``--without-inbox`` hands the events to the counting handler directly: the transport alone.
With ``--transport nats`` the delivery time includes relaying the outbox to JetStream.

Without ``--database-url`` the gateway database is a new SQLite file in a temporary folder;
with a PostgreSQL URL, a scratch database on that server, dropped afterwards.  The NATS
stream is one of the run's own, deleted afterwards.

    .venv/bin/python bench/mesh_events.py [--transport database|nats] [--events N]
        [--subscribers 2] [--subjects 1000] [--publish-batch 100] [--without-inbox]
        [--database-url postgresql+psycopg://127.0.0.1:5432/test] [--nats-url nats://…]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path

import nats
from rich.console import Console

from kiban.core.database import scratch_postgresql_database
from kiban.mesh.events import Event, EventBus, EventSettings, Inbox, NatsSettings
from kiban.mesh.gateway.database import open_gateway_database
from machine import describe

PUBLISHER = "JP/LG/131016"
TYPES = ("moved-out", "moved-in", "birth-registered")


@contextmanager
def _database(url: str | None) -> Iterator[str]:
    with ExitStack() as stack:
        if url is None:
            folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="kiban-events-"))
            yield f"sqlite:///{Path(folder) / 'gateway.sqlite3'}"
        else:
            yield stack.enter_context(scratch_postgresql_database(url, "kiban_bench"))


def _events(count: int, subjects: int) -> list[Event]:
    now = datetime.now(UTC)
    return [
        Event(
            id=uuid.uuid4(),
            type=TYPES[n % len(TYPES)],
            publisher=PUBLISHER,
            subject=f"{n % subjects:09d}",
            occurred_at=now,
            payload={"n": n, "転出先": "北海道札幌市中央区北1条西2丁目", "届出日": "2026-11-24"},
        )
        for n in range(count)
    ]


async def _bench(arguments: argparse.Namespace, url: str, settings: EventSettings) -> None:
    console = Console(stderr=True)
    engine = open_gateway_database(url)
    subscribers = [f"JP/LG/{code}/tax" for code in ("011002", "132012", "271004", "401005")]
    subscribers = subscribers[: arguments.subscribers]
    inbox = Inbox(engine)
    taken = 0
    done = asyncio.Event()
    expected = arguments.events * len(subscribers)

    async def count(_event: Event) -> None:
        nonlocal taken
        taken += 1
        if taken == expected:
            done.set()

    async def deliver(subscriber: str, event: Event) -> None:
        if arguments.without_inbox:
            await count(event)
        else:
            await inbox.receive(subscriber, event, count)

    async with EventBus(engine, settings) as bus:
        for subscriber in subscribers:
            await bus.subscribe(subscriber, PUBLISHER, TYPES)
        events = _events(arguments.events, arguments.subjects)
        started = time.perf_counter()
        for first in range(0, len(events), arguments.publish_batch):
            await bus.publish(events[first : first + arguments.publish_batch])
        published = time.perf_counter() - started

        started = time.perf_counter()
        dispatcher = asyncio.create_task(bus.run(deliver))
        await done.wait()
        delivered = time.perf_counter() - started
        dispatcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await dispatcher
    engine.dispose()

    console.print(f"[bold]{describe()}[/bold]")
    console.print(
        f"{settings.transport} transport on {engine.dialect.name}: {arguments.events:,} events,"
        f" {arguments.subjects:,} subjects, {len(subscribers)} subscribers,"
        f" {'without' if arguments.without_inbox else 'through'} the inbox"
    )
    console.print(
        f"published: {arguments.events / published:,.0f} events/s"
        f" (batches of {arguments.publish_batch})"
    )
    console.print(
        f"delivered: {expected / delivered:,.0f} deliveries/s"
        f" ({arguments.events / delivered:,.0f} events/s to each of {len(subscribers)})"
    )


async def _delete_stream(url: str, stream: str) -> None:
    client = await nats.connect(url)
    try:
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await client.jetstream().delete_stream(stream)
    finally:
        await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transport", choices=["database", "nats"], default="database")
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--subscribers", type=int, choices=range(1, 5), default=2)
    parser.add_argument("--subjects", type=int, default=1000)
    parser.add_argument("--publish-batch", type=int, default=100)
    parser.add_argument("--without-inbox", action="store_true", help="the transport alone")
    parser.add_argument("--database-url", help="a PostgreSQL server; a new SQLite file if omitted")
    parser.add_argument("--nats-url", default="nats://127.0.0.1:4222")
    arguments = parser.parse_args()
    stream = f"KIBAN_BENCH_{uuid.uuid4().hex[:8].upper()}"
    settings = EventSettings(
        transport=arguments.transport,
        nats=NatsSettings(url=arguments.nats_url, stream=stream, prefix=stream.lower()),
        poll_interval=0.05,
    )
    with _database(arguments.database_url) as url:
        try:
            asyncio.run(_bench(arguments, url, settings))
        finally:
            if arguments.transport == "nats":
                asyncio.run(_delete_stream(arguments.nats_url, stream))


if __name__ == "__main__":
    main()
