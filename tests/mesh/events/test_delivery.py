"""What a subscriber receives, the same on both transports and both databases: every event
once in effect, in order per subject, with retries, dead letters and redelivery."""

from __future__ import annotations

import asyncio
import functools

from sqlalchemy import Engine, func, select

from kiban.mesh.events import Event, EventBus, EventSettings
from kiban.mesh.events.models import OUTBOX
from mesh.events.events_support import (
    PUBLISHER,
    TAX,
    TYPES,
    WELFARE,
    Subscribers,
    events,
    eventually,
    in_order_per_subject,
    run_scenario,
    running,
)


def _got_all(subscribers: Subscribers, subscriber: str, published: list[Event]) -> bool:
    return {event.id for event in published} <= set(subscribers.counts(subscriber))


def test_an_event_reaches_two_subscribers_once_each_in_order_per_subject(
    gateway_engine: Engine, settings: EventSettings
) -> None:
    published = events(60, subjects=5)
    subscribers = Subscribers(gateway_engine)

    async def scenario() -> None:
        async with EventBus(gateway_engine, settings) as bus:
            for subscriber in (TAX, WELFARE):
                await bus.subscribe(subscriber, PUBLISHER, TYPES)
            async with running(bus.run(subscribers.deliver)):
                await bus.publish(published[:30])
                await bus.publish(published[30:])
                for subscriber in (TAX, WELFARE):
                    await eventually(
                        functools.partial(_got_all, subscribers, subscriber, published),
                        f"{subscriber} received every event",
                    )

    run_scenario(scenario())
    for subscriber in (TAX, WELFARE):
        assert set(subscribers.counts(subscriber).values()) == {1}, subscriber
        assert subscribers.by_subject(subscriber) == in_order_per_subject(published)
        assert subscribers.duplicates[subscriber] == 0


def test_a_subscriber_receives_only_its_types_and_only_from_when_it_subscribed(
    gateway_engine: Engine, settings: EventSettings
) -> None:
    before, after = events(6), events(12, first=6)
    subscribers = Subscribers(gateway_engine)

    async def scenario() -> None:
        async with EventBus(gateway_engine, settings) as bus:
            await bus.publish(before)
            await bus.subscribe(TAX, PUBLISHER, ["moved-out"])
            await bus.subscribe(WELFARE, PUBLISHER, ["birth-registered", "moved-in"])
            async with running(bus.run(subscribers.deliver)):
                await bus.publish(after)
                await eventually(
                    lambda: (
                        len(subscribers.effects[TAX]) == 4
                        and len(subscribers.effects[WELFARE]) == 8
                    ),
                    "each subscriber received the events of its types",
                )
                await asyncio.sleep(0.3)  # and nothing more comes

    run_scenario(scenario())
    assert sorted(subscribers.numbers(TAX)) == [
        n for n in range(6, 18) if TYPES[n % 3] == "moved-out"
    ]
    assert sorted(subscribers.numbers(WELFARE)) == [
        n for n in range(6, 18) if TYPES[n % 3] != "moved-out"
    ]


def test_later_events_of_a_subject_wait_behind_a_failing_one_while_other_subjects_go_on(
    gateway_engine: Engine, settings: EventSettings
) -> None:
    # Subject 0's first event is refused until every event of subject 1 has arrived: were
    # subject 1 held back by it, it would never be taken, and would end a dead letter.
    published = events(12, subjects=2)
    stuck = published[0]
    settings = settings.model_copy(
        update={"retry": settings.retry.model_copy(update={"max_attempts": 1000})}
    )

    def failing(_subscriber: str, event: Event, _attempt: int) -> bool:
        others = {e.id for e in published if e.subject == published[1].subject}
        return event.id == stuck.id and not others <= set(subscribers.counts(TAX))

    subscribers = Subscribers(gateway_engine, failing)

    async def scenario() -> None:
        async with EventBus(gateway_engine, settings) as bus:
            await bus.subscribe(TAX, PUBLISHER, TYPES)
            async with running(bus.run(subscribers.deliver)):
                await bus.publish(published)
                await eventually(lambda: _got_all(subscribers, TAX, published), "all arrived")
            assert await bus.dead_letters(TAX) == []

    run_scenario(scenario())
    assert subscribers.attempts[(TAX, stuck.id)] > 1, "the head should have been refused first"
    assert subscribers.by_subject(TAX) == in_order_per_subject(published)
    arrival = subscribers.numbers(TAX)
    assert arrival.index(stuck.payload["n"]) > arrival.index(published[-1].payload["n"])


def test_a_refused_event_is_tried_again_after_growing_delays_until_taken(
    gateway_engine: Engine, settings: EventSettings
) -> None:
    published = events(3, subjects=1)
    flaky = published[1]
    subscribers = Subscribers(
        gateway_engine, lambda _s, event, attempt: event.id == flaky.id and attempt <= 2
    )

    async def scenario() -> None:
        async with EventBus(gateway_engine, settings) as bus:
            await bus.subscribe(TAX, PUBLISHER, TYPES)
            async with running(bus.run(subscribers.deliver)):
                await bus.publish(published)
                await eventually(lambda: _got_all(subscribers, TAX, published), "all arrived")

    run_scenario(scenario())
    assert subscribers.numbers(TAX) == [0, 1, 2]
    assert subscribers.attempts[(TAX, flaky.id)] == 3
    first, second, third = subscribers.attempted_at[(TAX, flaky.id)]
    retry = settings.retry
    assert second - first >= retry.first_delay * 0.9
    assert third - second >= retry.first_delay * retry.factor * 0.9


def test_an_event_refused_every_time_becomes_a_dead_letter_and_its_subject_goes_on(
    gateway_engine: Engine, settings: EventSettings
) -> None:
    published = events(4, subjects=1)
    poison = published[1]
    refusing = {"on": True}
    subscribers = Subscribers(
        gateway_engine, lambda _s, event, _attempt: refusing["on"] and event.id == poison.id
    )

    async def scenario() -> None:
        async with EventBus(gateway_engine, settings) as bus:
            await bus.subscribe(TAX, PUBLISHER, TYPES)
            await bus.subscribe(WELFARE, PUBLISHER, TYPES)
            async with running(bus.run(subscribers.deliver)):
                await bus.publish(published)
                await eventually(
                    lambda: (
                        len(subscribers.effects[TAX]) == 3
                        and len(subscribers.effects[WELFARE]) == 3
                    ),
                    "the events after the dead letter arrived",
                )
                letters = await bus.dead_letters(TAX)
                assert [(letter.event, letter.attempts) for letter in letters] == [
                    (poison, settings.retry.max_attempts)
                ]
                assert letters[0].last_error.startswith("Refused: 503 from JP/LG/011002/tax")
                assert subscribers.attempts[(TAX, poison.id)] == settings.retry.max_attempts

                refusing["on"] = False
                assert await bus.redeliver(TAX, PUBLISHER) == 1
                await eventually(lambda: _got_all(subscribers, TAX, published), "redelivered")
                assert await bus.dead_letters(TAX) == []
                assert await bus.redeliver(TAX, PUBLISHER) == 0
                # The other subscriber's dead letter stays until it is redelivered too.
                assert [letter.event for letter in await bus.dead_letters(WELFARE)] == [poison]
                await asyncio.sleep(0.3)

    run_scenario(scenario())
    assert subscribers.numbers(TAX) == [0, 2, 3, 1]
    assert subscribers.numbers(WELFARE) == [0, 2, 3]
    assert set(subscribers.counts(TAX).values()) == {1}


def test_publishing_an_event_id_again_publishes_nothing(
    gateway_engine: Engine, settings: EventSettings
) -> None:
    first, second = events(2, subjects=1)
    subscribers = Subscribers(gateway_engine)

    async def scenario() -> None:
        async with EventBus(gateway_engine, settings) as bus:
            await bus.subscribe(TAX, PUBLISHER, TYPES)
            async with running(bus.run(subscribers.deliver)):
                once = await bus.publish([first])
                again = await bus.publish([first, second, second])
                assert [(p.seq, p.duplicate) for p in once + again] == [
                    (1, False),
                    (1, True),
                    (2, False),
                    (2, True),
                ]
                await eventually(lambda: len(subscribers.effects[TAX]) == 2, "both arrived")
                await asyncio.sleep(0.3)

    run_scenario(scenario())
    assert subscribers.numbers(TAX) == [0, 1]
    assert sum(subscribers.attempts.values()) == 2
    with gateway_engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(OUTBOX)) == 2


def test_a_dispatcher_that_dies_after_the_subscriber_took_events_but_before_recording_it(
    gateway_engine: Engine, settings: EventSettings
) -> None:
    """The issue's case: two subscribers, a crash mid-batch, exactly once each all the same.

    The first dispatcher hangs once the subscriber has taken its 7th event (handler run,
    inbox written) and is then cancelled, the transport never told; events of the same
    subjects are published while none runs.  The second dispatcher delivers again what the
    first had not recorded, the inbox answers those without the handler, and the order of
    each subject holds across the two.
    """
    published = events(40, subjects=4)
    subscribers = Subscribers(gateway_engine)

    async def deliver_then_hang(subscriber: str, event: Event) -> None:
        await subscribers.deliver(subscriber, event)
        if subscriber == TAX and len(subscribers.effects[TAX]) >= 7:
            await asyncio.Event().wait()

    async def scenario() -> None:
        async with EventBus(gateway_engine, settings, owner="gateway") as bus:
            for subscriber in (TAX, WELFARE):
                await bus.subscribe(subscriber, PUBLISHER, TYPES)
            await bus.publish(published[:20])
            async with running(bus.run(deliver_then_hang)):
                await eventually(lambda: len(subscribers.effects[TAX]) >= 7, "7 taken")
                await asyncio.sleep(0.2)  # the hung deliveries stay hung
        taken_before = len(subscribers.effects[TAX])
        async with EventBus(gateway_engine, settings, owner="gateway") as bus:  # restarted
            await bus.publish(published[20:])
            async with running(bus.run(subscribers.deliver)):
                for subscriber in (TAX, WELFARE):
                    await eventually(
                        functools.partial(_got_all, subscribers, subscriber, published),
                        f"{subscriber} received every event after the restart",
                    )
        assert taken_before < len(published)

    run_scenario(scenario())
    assert subscribers.duplicates[TAX] >= 1, "the crash should have led to a redelivery"
    for subscriber in (TAX, WELFARE):
        assert set(subscribers.counts(subscriber).values()) == {1}, subscriber
        assert subscribers.by_subject(subscriber) == in_order_per_subject(published)


def test_two_dispatchers_on_one_database_deliver_each_event_once(
    gateway_engine: Engine, settings: EventSettings
) -> None:
    """Gateways sharing a database each run a dispatcher: the leases give each subscriber
    to one of them, so neither order nor the number of deliveries suffers."""
    published = events(40, subjects=3)
    subscribers = Subscribers(gateway_engine)

    async def scenario() -> None:
        async with (
            EventBus(gateway_engine, settings, owner="gateway-a") as one,
            EventBus(gateway_engine, settings, owner="gateway-b") as two,
        ):
            for subscriber in (TAX, WELFARE):
                await one.subscribe(subscriber, PUBLISHER, TYPES)
            async with running(one.run(subscribers.deliver)), running(two.run(subscribers.deliver)):
                await one.publish(published[:20])
                await two.publish(published[20:])
                for subscriber in (TAX, WELFARE):
                    await eventually(
                        functools.partial(_got_all, subscribers, subscriber, published),
                        f"{subscriber} received every event",
                    )

    run_scenario(scenario())
    assert set(subscribers.attempts.values()) == {1}
    for subscriber in (TAX, WELFARE):
        assert subscribers.by_subject(subscriber) == in_order_per_subject(published)


def test_unsubscribing_stops_the_events_waiting_too(
    gateway_engine: Engine, settings: EventSettings
) -> None:
    published = events(6, subjects=1)
    subscribers = Subscribers(gateway_engine, lambda _s, event, _a: event.id == published[0].id)
    settings = settings.model_copy(
        update={"retry": settings.retry.model_copy(update={"max_attempts": 1000})}
    )

    async def scenario() -> None:
        async with EventBus(gateway_engine, settings) as bus:
            await bus.subscribe(TAX, PUBLISHER, TYPES)
            async with running(bus.run(subscribers.deliver)):
                await bus.publish(published)
                await eventually(
                    lambda: subscribers.attempts[(TAX, published[0].id)] > 2, "tried again"
                )
                await bus.unsubscribe(TAX, PUBLISHER)
                assert await bus.subscriptions(TAX) == []
                await asyncio.sleep(0.3)  # an attempt under way ends
                tried = sum(subscribers.attempts.values())
                await asyncio.sleep(0.7)
                assert sum(subscribers.attempts.values()) == tried

    run_scenario(scenario())
    assert subscribers.effects[TAX] == []
