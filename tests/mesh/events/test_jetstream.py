"""What only the NATS transport does: relay the outbox to JetStream, once per event."""

from __future__ import annotations

import nats
import pytest
from sqlalchemy import Engine, select, update

from kiban.mesh.events import EventBus, EventSettings, NatsSettings, TransportUnavailable
from kiban.mesh.events.models import PUBLISHERS
from mesh.events.events_support import (
    NATS_URL,
    PUBLISHER,
    TAX,
    TYPES,
    Subscribers,
    events,
    eventually,
    run_scenario,
    running,
)


def _relayed(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(select(PUBLISHERS.c.relayed_seq)) or 0)


async def _messages(stream: str) -> int:
    client = await nats.connect(NATS_URL)
    try:
        info = await client.jetstream().stream_info(stream)
        return info.state.messages
    finally:
        await client.close()


@pytest.mark.parametrize("transport", ["nats"], indirect=True)
def test_a_relay_that_dies_before_recording_its_progress_stores_no_event_twice(
    gateway_engine: Engine, settings: EventSettings
) -> None:
    published = events(10)
    subscribers = Subscribers(gateway_engine)

    async def relay_all() -> None:
        async with (
            EventBus(gateway_engine, settings, owner="gateway") as bus,
            running(bus.run(subscribers.deliver)),
        ):
            await eventually(lambda: _relayed(gateway_engine) == 10, "all relayed")
            await eventually(lambda: len(subscribers.effects[TAX]) == 10, "all delivered")

    async def scenario() -> None:
        async with EventBus(gateway_engine, settings) as bus:
            await bus.subscribe(TAX, PUBLISHER, TYPES)
            await bus.publish(published)
        await relay_all()
        with gateway_engine.begin() as connection:  # as if the relay had died before recording
            connection.execute(update(PUBLISHERS).values(relayed_seq=0))
        await relay_all()
        assert await _messages(settings.nats.stream) == 10

    run_scenario(scenario())
    assert set(subscribers.attempts.values()) == {1}


def test_a_nats_server_that_cannot_be_reached_is_said_so_on_one_line(
    gateway_engine: Engine,
) -> None:
    settings = EventSettings(
        transport="nats", nats=NatsSettings(url="nats://127.0.0.1:1", connect_timeout=0.5)
    )

    async def scenario() -> None:
        async with EventBus(gateway_engine, settings):
            pass

    with pytest.raises(TransportUnavailable) as refusal:
        run_scenario(scenario())
    assert str(refusal.value).startswith("NATS at nats://127.0.0.1:1 cannot be reached (")
    assert "\n" not in str(refusal.value)
