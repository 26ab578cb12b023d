"""Movements tell the rest of kiban, inside the same transaction, that a record changed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date

import pytest
from sqlalchemy.orm import Session

from kiban.core import events
from kiban.residents.events import ResidentAddressChanged, ResidentRemoved
from kiban.residents.schemas import AddressIn, DeathIn, MovingInIn, MovingOutIn, RelocationIn
from kiban.residents.service import ResidentService

Heard = list[object]


@pytest.fixture
def heard() -> Iterator[Heard]:
    """Every resident event published while the test runs."""
    seen: Heard = []

    def listen(_session: Session, event: object) -> None:
        seen.append(event)

    for event_type in (ResidentRemoved, ResidentAddressChanged):
        events.subscribe(event_type, listen)
    yield seen
    for event_type in (ResidentRemoved, ResidentAddressChanged):
        events._handlers[event_type].remove(listen)


def test_relocation_moving_out_and_death_are_published(
    chiyoda: dict[str, str],
    service_of: Callable[[str], ResidentService],
    moving_in: Callable[..., MovingInIn],
    address: Callable[..., AddressIn],
    heard: Heard,
) -> None:
    service = service_of("131016")
    mover = service.register_moving_in(moving_in())
    dying = service.register_moving_in(
        moving_in(personal_number="234567890121", resident_record_code="00000000027")
    )
    assert heard == []  # a moving-in changes nobody's certificates
    service.relocate(
        mover.addressee_number,
        RelocationIn(
            address=address("131016", "千代田", "1-1"),
            occurred_on=date(2025, 1, 10),
            notified_on=date(2025, 1, 15),
        ),
    )
    service.move_out(
        mover.addressee_number,
        MovingOutIn(
            destination=address("132012", "明神町一丁目"),
            occurred_on=date(2025, 7, 20),
            notified_on=date(2025, 6, 20),
        ),
    )
    service.record_death(
        dying.addressee_number,
        DeathIn(occurred_on=date(2025, 6, 1), notified_on=date(2025, 6, 2)),
    )
    assert heard == [
        ResidentAddressChanged("131016", mover.addressee_number, date(2025, 1, 10)),
        ResidentRemoved("131016", mover.addressee_number, "moved_out", date(2025, 7, 20)),
        ResidentRemoved("131016", dying.addressee_number, "died", date(2025, 6, 1)),
    ]
