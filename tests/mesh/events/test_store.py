"""The outbox and the subscriptions: numbered without gaps, refused when not well formed."""

from __future__ import annotations

import threading
from collections import defaultdict

import pytest
from sqlalchemy import Engine, select

from kiban.mesh.events import EventError, EventStore
from kiban.mesh.events.models import OUTBOX
from kiban.mesh.events.store import checked_feed
from mesh.events.events_support import PUBLISHER, TAX, TYPES, events

THREADS = 4
ROUNDS = 15


def test_publications_in_parallel_are_numbered_per_publisher_without_gaps(
    gateway_engine: Engine,
) -> None:
    """Sequence numbers are given under the publisher's lock: no gap that a slower
    transaction could fill after a dispatcher has read past it, and each thread's events
    numbered in the order it published them."""
    store = EventStore(gateway_engine)
    publishers = (PUBLISHER, "JP/LG/011002")
    numbers: defaultdict[tuple[int, str], list[int]] = defaultdict(list)

    def publish(thread: int) -> None:
        for round_ in range(ROUNDS):
            batch = [
                *events(2, first=1000 * thread + 10 * round_, publisher=publishers[0]),
                *events(1, first=1000 * thread + 10 * round_ + 5, publisher=publishers[1]),
            ]
            for event, publication in zip(batch, store.publish(batch), strict=True):
                numbers[(thread, event.publisher)].append(publication.seq)

    threads = [threading.Thread(target=publish, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    with gateway_engine.connect() as connection:
        for publisher, per_round in zip(publishers, (2, 1), strict=True):
            stored = connection.scalars(
                select(OUTBOX.c.seq).where(OUTBOX.c.publisher == publisher).order_by(OUTBOX.c.seq)
            ).all()
            assert stored == list(range(1, THREADS * ROUNDS * per_round + 1))
    for seqs in numbers.values():
        assert seqs == sorted(seqs)


def test_subscribing_again_keeps_where_the_subscription_started(gateway_engine: Engine) -> None:
    store = EventStore(gateway_engine)
    (first,) = store.subscribe(TAX, PUBLISHER, ["moved-out"])
    store.publish(events(3))
    again = store.subscribe(TAX, PUBLISHER, ["moved-out", "moved-in"])
    assert [(s.type, s.from_seq) for s in again] == [("moved-in", 3), ("moved-out", 0)]
    assert again[1] == first


@pytest.mark.parametrize(
    ("subscriber", "publisher", "types", "message"),
    [
        ("JP/LG/011002", PUBLISHER, TYPES, "the subscriber: 'JP/LG/011002' is not of the form"),
        (TAX, "JP/LG/131017", TYPES, "the publisher: member code of a LG member"),
        (TAX, PUBLISHER, ["Moved_Out"], "event type code 'Moved_Out'"),
        (TAX, PUBLISHER, [], "name at least one event type"),
    ],
)
def test_a_subscription_that_is_not_well_formed_is_refused_saying_why(
    gateway_engine: Engine, subscriber: str, publisher: str, types: list[str], message: str
) -> None:
    with pytest.raises(EventError) as refusal:
        EventStore(gateway_engine).subscribe(subscriber, publisher, types)
    assert message in str(refusal.value)


def test_dead_letters_are_not_redelivered_to_a_subscriber_that_left(
    gateway_engine: Engine,
) -> None:
    store = EventStore(gateway_engine)
    store.subscribe(TAX, PUBLISHER, TYPES)
    assert store.unsubscribe(TAX, PUBLISHER, ["moved-in"]) is False
    assert store.unsubscribe(TAX, PUBLISHER) is True
    with gateway_engine.connect() as connection, pytest.raises(EventError) as refusal:
        store.dead_letters_of(connection, checked_feed(TAX, PUBLISHER), None)
    assert "subscribe again before redelivering" in str(refusal.value)
