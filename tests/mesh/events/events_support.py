"""Publishers, subscribers that count what they receive, and a clock for the events' tests.

The same scenarios run on both transports: the settings differ, nothing else.  A test's
asynchronous scenario runs with ``run_scenario`` under a deadline, so that a delivery that
never comes fails the test with what was missing rather than hanging the suite.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import nats
from sqlalchemy import Engine

from kiban.mesh.events import Event, EventSettings, Inbox, NatsSettings, RetryPolicy

NATS_URL = os.environ.get("KIBAN_TEST_NATS_URL", "nats://127.0.0.1:4222")
PUBLISHER = "JP/LG/131016"  # 千代田区
TAX = "JP/LG/011002/tax"  # 札幌市's tax system
WELFARE = "JP/LG/132012/welfare"  # 八王子市's welfare system
TYPES = ("moved-out", "moved-in", "birth-registered")
START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
DEADLINE = 60.0  # seconds a scenario may take before it fails
Result = TypeVar("Result")


def run_scenario(scenario: Coroutine[Any, Any, Result], deadline: float = DEADLINE) -> Result:
    """Run ``scenario`` to its end within ``deadline`` seconds, in a thread of its own: the
    browser tests' Playwright keeps an event loop running in the test thread."""

    async def bounded() -> Result:
        return await asyncio.wait_for(scenario, deadline)

    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, bounded()).result()


def settings_for(transport: str, stream: str, **changes: Any) -> EventSettings:
    """Settings with tiny delays, so that retries, leases and recovery take a second at most."""
    base: dict[str, Any] = {
        "transport": transport,
        "retry": RetryPolicy(max_attempts=4, first_delay=0.02, factor=2.0, max_delay=0.2),
        "nats": NatsSettings(
            url=NATS_URL, stream=stream, prefix=stream.lower().replace("_", "-"), ack_wait=1.0
        ),
        "batch": 20,
        "poll_interval": 0.05,
        "lease_ttl": 2.0,
    }
    return EventSettings.model_validate({**base, **changes})


async def nats_unreachable() -> str | None:
    """Why the NATS server cannot be used, or None when it can."""
    try:
        client = await nats.connect(NATS_URL, connect_timeout=2, max_reconnect_attempts=0)
    except Exception as error:
        return f"{type(error).__name__}: {error}"
    try:
        await client.jetstream().account_info()
    except Exception as error:
        return f"JetStream is not enabled: {type(error).__name__}: {error}"
    finally:
        await client.close()
    return None


async def delete_stream(stream: str) -> None:
    client = await nats.connect(NATS_URL, connect_timeout=2, max_reconnect_attempts=0)
    try:
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await client.jetstream().delete_stream(stream)
    finally:
        await client.close()


def events(
    count: int,
    *,
    subjects: int = 4,
    first: int = 0,
    types: tuple[str, ...] = TYPES,
    publisher: str = PUBLISHER,
) -> list[Event]:
    """Events numbered ``first``…: ``payload["n"]``, subject ``n mod subjects`` (an
    addressee number), type in turn."""
    return [
        Event(
            id=uuid.uuid4(),
            type=types[n % len(types)],
            publisher=publisher,
            subject=f"{n % subjects:09d}",
            occurred_at=START + timedelta(minutes=n),
            payload={"n": n, "氏名": "山田 太郎"},
        )
        for n in range(first, first + count)
    ]


class Refused(Exception):
    """What a subscriber's system answers when it does not take an event."""


Failing = Callable[[str, Event, int], bool]  # subscriber, event, attempt (1…) → refuse it?


class Subscribers:
    """The subscribers' side: each subscriber's inbox in front of a system that records what
    it takes (the effects, counted), and may be told to refuse some events."""

    def __init__(self, engine: Engine, failing: Failing | None = None) -> None:
        self.inbox = Inbox(engine)
        self.failing: Failing = failing or (lambda _subscriber, _event, _attempt: False)
        self.effects: defaultdict[str, list[Event]] = defaultdict(list)
        self.attempts: Counter[tuple[str, uuid.UUID]] = Counter()
        self.attempted_at: defaultdict[tuple[str, uuid.UUID], list[float]] = defaultdict(list)
        self.duplicates: Counter[str] = Counter()  # arrivals the inbox took as seen before

    async def deliver(self, subscriber: str, event: Event) -> None:
        key = (subscriber, event.id)
        self.attempts[key] += 1
        self.attempted_at[key].append(time.monotonic())
        attempt = self.attempts[key]

        async def system(received: Event) -> None:
            if self.failing(subscriber, received, attempt):
                raise Refused(f"503 from {subscriber} (attempt {attempt})")
            self.effects[subscriber].append(received)

        if not await self.inbox.receive(subscriber, event, system):
            self.duplicates[subscriber] += 1

    def counts(self, subscriber: str) -> Counter[uuid.UUID]:
        return Counter(event.id for event in self.effects[subscriber])

    def numbers(self, subscriber: str) -> list[int]:
        return [int(event.payload["n"]) for event in self.effects[subscriber]]

    def by_subject(self, subscriber: str) -> dict[str, list[int]]:
        """The numbers each subject's events arrived in."""
        arrived: defaultdict[str, list[int]] = defaultdict(list)
        for event in self.effects[subscriber]:
            arrived[event.subject].append(int(event.payload["n"]))
        return dict(arrived)


def in_order_per_subject(published: list[Event]) -> dict[str, list[int]]:
    """The numbers of ``published`` per subject, in publication order."""
    expected: defaultdict[str, list[int]] = defaultdict(list)
    for event in published:
        expected[event.subject].append(int(event.payload["n"]))
    return dict(expected)


async def eventually(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    """Wait until ``condition`` holds; fail saying ``what`` did not happen."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"within {timeout} s: {what}")
        await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def running(run: Awaitable[None]) -> Any:
    """A dispatcher running in the background for the block's length, then cancelled (as a
    crash would stop it: nothing is finished first)."""
    task = asyncio.ensure_future(run)
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def unique_stream() -> str:
    return f"KIBAN_TEST_{uuid.uuid4().hex[:12].upper()}"
