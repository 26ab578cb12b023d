"""The subscriber's inbox: an event processed once per subscriber, whoever delivers it again."""

from __future__ import annotations

import dataclasses
import uuid

import pytest
from sqlalchemy import Connection, Engine, Table, func, insert, select

from kiban.mesh.events import Event, Inbox
from mesh.events.events_support import TAX, WELFARE, Refused, events, run_scenario
from mesh.events.subscriber_process import EFFECTS


@pytest.fixture
def effects(gateway_engine: Engine) -> Table:
    EFFECTS.metadata.create_all(gateway_engine)
    return EFFECTS


def _record(connection: Connection, event: Event) -> None:
    connection.execute(
        insert(EFFECTS).values(
            subscriber=TAX, event_id=event.id, subject=event.subject, number=event.payload["n"]
        )
    )


def _refuse(connection: Connection, event: Event) -> None:
    _record(connection, event)
    raise Refused("the change failed half way")


def _effects(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(EFFECTS)) or 0)


def test_an_effect_applied_with_the_inbox_happens_once(
    gateway_engine: Engine, effects: Table
) -> None:
    inbox = Inbox(gateway_engine)
    (event,) = events(1)

    async def scenario() -> list[bool]:
        with pytest.raises(Refused):
            await inbox.apply(TAX, event, _refuse)
        return [await inbox.apply(TAX, event, _record) for _ in range(3)]

    assert run_scenario(scenario()) == [True, False, False]
    assert _effects(gateway_engine) == 1  # the refused attempt's half was rolled back


def test_a_handler_runs_until_it_succeeds_then_never_again(gateway_engine: Engine) -> None:
    inbox = Inbox(gateway_engine)
    (event,) = events(1)
    calls: list[uuid.UUID] = []

    async def handler(received: Event) -> None:
        calls.append(received.id)
        if len(calls) == 1:
            raise Refused("503")

    async def scenario() -> list[bool]:
        with pytest.raises(Refused):
            await inbox.receive(TAX, event, handler)
        return [await inbox.receive(TAX, event, handler) for _ in range(2)]

    assert run_scenario(scenario()) == [True, False]
    assert calls == [event.id, event.id]


def test_the_inbox_is_kept_per_subscriber_and_per_publisher(gateway_engine: Engine) -> None:
    inbox = Inbox(gateway_engine)
    (event,) = events(1)
    elsewhere = dataclasses.replace(event, publisher="JP/LG/011002")
    calls: list[tuple[str, str]] = []

    async def scenario() -> list[bool]:
        async def handler(received: Event) -> None:
            calls.append((subscriber, received.publisher))

        taken = []
        for subscriber, sent in ((TAX, event), (WELFARE, event), (TAX, elsewhere), (TAX, event)):
            taken.append(await inbox.receive(subscriber, sent, handler))
        return taken

    assert run_scenario(scenario()) == [True, True, True, False]
    assert calls == [(TAX, "JP/LG/131016"), (WELFARE, "JP/LG/131016"), (TAX, "JP/LG/011002")]
