"""The NATS JetStream transport: the outbox relayed to a stream, one consumer per feed.

Publishing still commits to the outbox first; a relay then publishes each event, in order, to
``{prefix}.events.{publisher}.{type}`` (``JP/LG/131016`` written ``JP.LG.131016``), with the
publisher and event id as JetStream's message id, so that a relay that dies after publishing
but before recording it does not store the event twice.  JetStream keeps each feed's progress
in a durable pull consumer; nothing per subscriber is written to the database except dead
letters.

Order per subject.  A consumer hands events out in the stream's order, but a failing event
must hold back the later events of its subject and no others.  The feed's dispatcher keeps a
queue per subject, delivers the heads side by side, and acknowledges an event only once it is
taken (or buried): the events waiting behind a head stay unacknowledged, kept alive with
"in progress" signals.  After a crash, the events the dead dispatcher held come back only
when their ``ack_wait`` runs out, while newer ones come at once; so a dispatcher starting on
a feed first takes in everything outstanding, and sorts it, before delivering anything.

Retries happen in the dispatcher, with the same back-off as the database transport; a
restarted dispatcher counts attempts afresh.  Redelivering a dead letter publishes it again,
addressed (``Kiban-To``) to its subscriber alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import uuid
from collections import deque
from collections.abc import Collection
from datetime import timedelta

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from sqlalchemy import select, update

from kiban.core.logging import get_logger
from kiban.mesh.events.event import Event, EventError
from kiban.mesh.events.models import OUTBOX, PUBLISHERS, now_us
from kiban.mesh.events.settings import EventSettings
from kiban.mesh.events.store import (
    EVENT_COLUMNS,
    EventStore,
    Feed,
    bury,
    describe,
    event_of,
    failed,
)
from kiban.mesh.events.supervisor import Job
from kiban.mesh.events.transport import Deliver, TransportUnavailable

log = get_logger(__name__)

SEQ_HEADER = "Kiban-Seq"  # the event's number in its publisher's outbox
TO_HEADER = "Kiban-To"  # a redelivered dead letter's one subscriber
RELAY_BATCH = 1000
# A new consumer starts this long before its first subscription, for the clocks of the
# database and of NATS; the events before the subscription are then passed over by number.
CLOCK_MARGIN = timedelta(minutes=1)


def _tokens(identifier: str) -> str:
    return identifier.replace("/", ".")


class JetStreamTransport:
    def __init__(self, store: EventStore, settings: EventSettings) -> None:
        self.store = store
        self.settings = settings
        self.nats = settings.nats
        self._client: Client | None = None
        self._relay_wakeup = asyncio.Event()

    @property
    def js(self) -> JetStreamContext:
        if self._client is None:
            raise RuntimeError("the NATS transport is not open: use the event bus in `async with`")
        return self._client.jetstream()

    async def open(self) -> None:
        """Connect, and make the stream when there is none.  Once connected, the client
        reconnects for as long as it takes; the first connection must succeed within
        ``connect_timeout``, or :class:`TransportUnavailable` says why."""

        async def logged(error: Exception) -> None:
            log.warning("mesh.events.nats_error", url=self.nats.url, error=describe(error))

        try:
            self._client = await asyncio.wait_for(
                nats.connect(
                    self.nats.url,
                    name="kiban-events",
                    max_reconnect_attempts=-1,
                    error_cb=logged,
                ),
                self.nats.connect_timeout,
            )
        except (TimeoutError, OSError, nats.errors.Error) as error:
            raise TransportUnavailable(
                f"NATS at {self.nats.url} cannot be reached ({describe(error)})"
                " / NATSに接続できません"
            ) from None
        try:
            await self.js.stream_info(self.nats.stream)
        except nats.js.errors.NotFoundError:
            await self.js.add_stream(
                StreamConfig(
                    name=self.nats.stream,
                    subjects=[f"{self.nats.prefix}.events.>"],
                    retention=RetentionPolicy.LIMITS,
                    storage=StorageType.FILE,
                    max_age=self.nats.max_age,
                    duplicate_window=self.nats.duplicate_window,
                )
            )

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    def jobs(self, deliver: Deliver) -> dict[str, Job]:
        jobs: dict[str, Job] = {"relay": self._relay}
        for feed in self.store.feeds():
            jobs[feed.lease] = functools.partial(self._serve, feed, deliver)
        return jobs

    def wake(self) -> None:
        self._relay_wakeup.set()

    async def redeliver(self, feed: Feed, event_ids: Collection[uuid.UUID] | None) -> int:
        """Publish the dead letters again for the feed's subscriber alone, then drop them (a
        crash between the two may redeliver one twice: the inbox takes it once)."""

        def read() -> list[tuple[int, Event]]:
            with self.store.engine.connect() as connection:
                return self.store.dead_letters_of(connection, feed, event_ids)

        letters = await asyncio.to_thread(read)
        for seq, event in letters:
            await self._publish(
                seq, event, to=feed.subscriber, message_id=f"{feed.subscriber}/{now_us()}"
            )

        def drop() -> None:
            with self.store.engine.begin() as connection:
                self.store.drop_dead_letters(connection, feed, [seq for seq, _ in letters])

        await asyncio.to_thread(drop)
        return len(letters)

    async def feed_ended(self, feed: Feed) -> None:
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await self.js.delete_consumer(self.nats.stream, _durable(feed))

    # The relay --------------------------------------------------------------------------

    async def _publish(self, seq: int, event: Event, *, to: str | None, message_id: str) -> None:
        headers = {
            "Nats-Msg-Id": f"{event.publisher}/{event.id}/{message_id}",
            SEQ_HEADER: str(seq),
        }
        if to is not None:
            headers[TO_HEADER] = to
        await self.js.publish(
            f"{self.nats.prefix}.events.{_tokens(event.publisher)}.{event.type}",
            event.to_json(),
            stream=self.nats.stream,
            headers=headers,
        )

    async def _relay(self) -> None:
        """Publish the outbox to the stream, in order, until cancelled.  One event at a time,
        each acknowledged before the next: with several in flight, one refused and sent again
        would land after the next, out of order."""
        while True:
            self._relay_wakeup.clear()
            pending = await asyncio.to_thread(self._unrelayed)
            for seq, event in pending:
                await self._publish(seq, event, to=None, message_id="relay")
            if pending:
                await asyncio.to_thread(self._relayed, pending)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._relay_wakeup.wait(), self.settings.poll_interval)

    def _unrelayed(self) -> list[tuple[int, Event]]:
        with self.store.engine.connect() as connection:
            rows = connection.execute(
                select(OUTBOX.c.seq, *EVENT_COLUMNS)
                .join(PUBLISHERS, PUBLISHERS.c.publisher == OUTBOX.c.publisher)
                .where(OUTBOX.c.seq > PUBLISHERS.c.relayed_seq)
                .order_by(OUTBOX.c.publisher, OUTBOX.c.seq)
                .limit(RELAY_BATCH)
            )
            return [(row[0], event_of(row[1:])) for row in rows]

    def _relayed(self, events: list[tuple[int, Event]]) -> None:
        last = {event.publisher: seq for seq, event in events}
        with self.store.engine.begin() as connection:
            for publisher, seq in last.items():
                connection.execute(
                    update(PUBLISHERS)
                    .where(PUBLISHERS.c.publisher == publisher, PUBLISHERS.c.relayed_seq < seq)
                    .values(relayed_seq=seq)
                )

    # The feeds ----------------------------------------------------------------------------

    async def _serve(self, feed: Feed, deliver: Deliver) -> None:
        durable = await self._consumer(feed)
        subscription = await self.js.pull_subscribe_bind(durable, stream=self.nats.stream)
        try:
            await _FeedDispatcher(self, feed, deliver, subscription).run()
        finally:
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()

    async def _consumer(self, feed: Feed) -> str:
        """The feed's durable consumer, made when it has none."""
        durable = _durable(feed)
        try:
            await self.js.consumer_info(self.nats.stream, durable)
        except nats.js.errors.NotFoundError:
            view = await asyncio.to_thread(self.store.feed_view, feed)
            await self.js.add_consumer(
                self.nats.stream,
                ConsumerConfig(
                    durable_name=durable,
                    filter_subject=f"{self.nats.prefix}.events.{_tokens(feed.publisher)}.>",
                    deliver_policy=DeliverPolicy.BY_START_TIME,
                    opt_start_time=view.since - CLOCK_MARGIN,
                    ack_policy=AckPolicy.EXPLICIT,
                    ack_wait=self.nats.ack_wait,
                    max_deliver=-1,  # the dispatcher counts attempts and buries the event
                    max_ack_pending=self.nats.max_ack_pending,
                ),
            )
        return durable


def _durable(feed: Feed) -> str:
    return f"{feed.subscriber}__{feed.publisher}".replace("/", "_")


_Queued = tuple[int, int, Event]  # the message's stream seq, the event's seq, the event


def _stream_seq(message: Msg) -> int:
    return message.metadata.sequence.stream


class _FeedDispatcher:
    """One feed's events from its consumer to its subscriber, in order per subject."""

    def __init__(
        self,
        transport: JetStreamTransport,
        feed: Feed,
        deliver: Deliver,
        subscription: JetStreamContext.PullSubscription,
    ) -> None:
        self.transport = transport
        self.settings = transport.settings
        self.feed = feed
        self.deliver = deliver
        self.subscription = subscription
        self.held: dict[int, Msg] = {}  # by stream seq: in hand, not yet acknowledged
        self.queues: dict[str, deque[_Queued]] = {}  # by subject, each waiting behind its head
        self.types: dict[str, int] = {}  # subscribed type → seq its subscription starts after
        self.known_seq = -1  # ``types`` holds for events up to here
        self.slots = asyncio.Semaphore(self.settings.concurrency)

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            self.group = group
            group.create_task(self._keep_alive())
            await self._recover()
            while True:
                try:
                    messages = await self.subscription.fetch(
                        self.settings.batch, timeout=self.settings.poll_interval
                    )
                except TimeoutError:  # nothing new (nats-py's timeouts are all TimeoutError)
                    continue
                fresh = [_stream_seq(message) for message in messages]
                fresh = [seq for seq in fresh if seq not in self.held]
                self._hold(messages)
                await self._route(fresh)

    def _hold(self, messages: list[Msg]) -> None:
        # JetStream may hand out again a message this dispatcher holds (its ack_wait ran out
        # while the loop was busy): keep the newest handle, deliver it once.
        for message in messages:
            self.held[_stream_seq(message)] = message

    async def _recover(self) -> None:
        """Take in every message handed out before and not acknowledged, then route all
        in the stream's order (see the module's docstring)."""
        fetch_timeout = min(self.settings.poll_interval, self.settings.nats.ack_wait)
        while ((await self.subscription.consumer_info()).num_ack_pending or 0) > len(self.held):
            try:
                self._hold(
                    await self.subscription.fetch(self.settings.batch, timeout=fetch_timeout)
                )
            except TimeoutError:  # nothing new
                continue
        await self._route(sorted(self.held))

    async def _route(self, stream_seqs: list[int]) -> None:
        """Queue the messages behind their subjects' heads, or acknowledge at once those
        that are not for this subscriber."""
        routed: list[tuple[int, int, str | None, Event]] = []
        for stream_seq in stream_seqs:
            message = self.held[stream_seq]
            try:
                headers = message.headers or {}
                routed.append(
                    (
                        stream_seq,
                        int(headers[SEQ_HEADER]),
                        headers.get(TO_HEADER),
                        Event.from_json(message.data),
                    )
                )
            except (EventError, KeyError, ValueError) as error:
                log.error("mesh.events.bad_message", stream_seq=stream_seq, error=describe(error))
                await self._acknowledge(stream_seq)
        if any(
            seq > self.known_seq or (to is not None and event.type not in self.types)
            for _, seq, to, event in routed
        ):
            view = await asyncio.to_thread(self.transport.store.feed_view, self.feed)
            self.types, self.known_seq = view.types, view.last_seq
        for stream_seq, seq, to, event in routed:
            if not self._wanted(seq, to, event):
                await self._acknowledge(stream_seq)
                continue
            queue = self.queues.get(event.subject)
            if queue is None:
                queue = self.queues[event.subject] = deque()
                self.group.create_task(self._drain(event.subject, queue))
            queue.append((stream_seq, seq, event))

    def _wanted(self, seq: int, to: str | None, event: Event) -> bool:
        if to is not None:  # a dead letter redelivered
            return to == self.feed.subscriber and event.type in self.types
        from_seq = self.types.get(event.type)
        return from_seq is not None and seq > from_seq

    async def _drain(self, subject: str, queue: deque[_Queued]) -> None:
        while queue:
            stream_seq, seq, event = queue[0]
            await self._deliver(seq, event)
            await self._acknowledge(stream_seq)
            queue.popleft()
        del self.queues[subject]

    async def _acknowledge(self, stream_seq: int) -> None:
        await self.held.pop(stream_seq).ack()

    async def _deliver(self, seq: int, event: Event) -> None:
        """Deliver with retries; bury the event after the last attempt."""
        retry = self.settings.retry
        failures = 0
        while True:
            async with self.slots:
                try:
                    await self.deliver(self.feed.subscriber, event)
                    return
                except Exception as error:
                    reason = describe(error)
            failures += 1
            if failures >= retry.max_attempts:
                await asyncio.to_thread(self._bury, seq, failures, reason)
                return
            failed(self.feed, seq, failures, reason)
            await asyncio.sleep(retry.delay(failures))

    def _bury(self, seq: int, attempts: int, reason: str) -> None:
        with self.transport.store.engine.begin() as connection:
            bury(connection, self.feed, seq, attempts, reason)

    async def _keep_alive(self) -> None:
        """Tell JetStream, every third of ``ack_wait``, that the held messages are in hand."""
        while True:
            await asyncio.sleep(self.settings.nats.ack_wait / 3)
            for message in list(self.held.values()):
                await message.in_progress()
