"""Movements through the service: the current state always follows the immutable history."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from kiban.core.crypto import PersonalNumberHasher
from kiban.core.errors import NotFound, ProblemError
from kiban.core.identifiers import validate_addressee_number
from kiban.residents.codes import MovementKind, Relationship, ResidentStatus, Sex
from kiban.residents.models import ImmutableMovementError, Resident, ResidentMovement
from kiban.residents.repository import ResidentRepository
from kiban.residents.schemas import (
    AddressIn,
    BirthIn,
    DeathIn,
    HouseholdPlacement,
    MovingInIn,
    MovingOutIn,
    PersonIn,
    RelocationIn,
)
from kiban.residents.service import ResidentService

Services = Callable[[str], ResidentService]
Addresses = Callable[..., AddressIn]
MovingIns = Callable[..., MovingInIn]


def _movement_kinds(session: Session, tenant: str, addressee_number: str) -> list[str]:
    return [m.kind for m in ResidentRepository(session, tenant).movements(addressee_number)]


def test_moving_in_creates_resident_household_and_movement(
    chiyoda: dict[str, str],
    service_of: Services,
    moving_in: MovingIns,
    db_session: Session,
    hasher: PersonalNumberHasher,
) -> None:
    resident = service_of("131016").register_moving_in(moving_in())
    validate_addressee_number(resident.addressee_number)
    assert resident.status == ResidentStatus.RESIDENT
    assert resident.relationship == Relationship.HEAD
    assert resident.became_resident_on == resident.address_set_on == date(2024, 4, 1)
    assert resident.personal_number_hash == hasher.hash("123456789018")
    stored = db_session.execute(select(Resident.__table__)).mappings().one()
    assert "123456789018" not in {str(value) for value in stored.values()}
    movements = ResidentRepository(db_session, "131016").movements(resident.addressee_number)
    assert [(m.kind, m.sequence, m.town_name) for m in movements] == [
        (MovementKind.MOVING_IN, 1, "霞が関一丁目")
    ]


def test_birth_joins_an_existing_household(
    chiyoda: dict[str, str], service_of: Services, moving_in: MovingIns, address: Addresses
) -> None:
    service = service_of("131016")
    mother = service.register_moving_in(moving_in())
    child = service.register_birth(
        BirthIn(
            person=PersonIn(
                family_name="山田",
                given_name="太郎",
                family_name_kana="ヤマダ",
                given_name_kana="タロウ",
                birth_date=date(2025, 6, 1),
                sex=Sex.MALE,
            ),
            household=HouseholdPlacement(
                household_number=mother.household_number, relationship=Relationship.CHILD
            ),
            address=address("131016", "霞が関一丁目"),
            notified_on=date(2025, 6, 10),
        )
    )
    assert child.household_number == mother.household_number
    assert child.addressee_number != mother.addressee_number
    household, members = service.household(mother.household_number)
    assert {member.relationship for member in members} == {"世帯主", "子"}
    assert household.formed_on == date(2024, 4, 1)


def test_relocation_changes_the_address_and_keeps_the_old_one_in_history(
    chiyoda: dict[str, str],
    service_of: Services,
    moving_in: MovingIns,
    address: Addresses,
    db_session: Session,
) -> None:
    service = service_of("131016")
    resident = service.register_moving_in(moving_in())
    service.relocate(
        resident.addressee_number,
        RelocationIn(
            address=address("131016", "千代田", "1-1"),
            occurred_on=date(2025, 1, 10),
            notified_on=date(2025, 1, 15),
        ),
    )
    assert (resident.town_name, resident.banchi) == ("千代田", "1-1")
    assert resident.address_set_on == date(2025, 1, 10)
    assert resident.became_resident_on == date(2024, 4, 1)
    history = service.movements(resident.addressee_number)
    assert [(m.sequence, m.kind, m.town_name) for m in history] == [
        (1, MovementKind.MOVING_IN, "霞が関一丁目"),
        (2, MovementKind.RELOCATION, "千代田"),
    ]


def test_moving_out_sets_status_and_date(
    chiyoda: dict[str, str], service_of: Services, moving_in: MovingIns, address: Addresses
) -> None:
    service = service_of("131016")
    resident = service.register_moving_in(moving_in())
    service.move_out(
        resident.addressee_number,
        MovingOutIn(
            destination=address("132012", "明神町一丁目"),
            occurred_on=date(2025, 7, 20),  # a 転出 is notified before the move
            notified_on=date(2025, 6, 20),
        ),
    )
    assert resident.status == ResidentStatus.MOVED_OUT
    assert resident.removed_on == date(2025, 7, 20)
    assert resident.town_name == "霞が関一丁目"  # the record keeps its last address here
    last = service.movements(resident.addressee_number)[-1]
    assert (last.kind, last.lg_code, last.town_name) == ("moving_out", "132012", "明神町一丁目")
    with pytest.raises(ProblemError) as refused:
        service.record_death(
            resident.addressee_number,
            DeathIn(occurred_on=date(2025, 6, 21), notified_on=date(2025, 6, 22)),
        )
    assert refused.value.status == 409


def test_death_sets_status_and_date(
    chiyoda: dict[str, str], service_of: Services, moving_in: MovingIns, db_session: Session
) -> None:
    service = service_of("131016")
    resident = service.register_moving_in(moving_in())
    service.record_death(
        resident.addressee_number,
        DeathIn(occurred_on=date(2025, 3, 3), notified_on=date(2025, 3, 4)),
    )
    assert (resident.status, resident.removed_on) == (ResidentStatus.DECEASED, date(2025, 3, 3))
    assert _movement_kinds(db_session, "131016", resident.addressee_number) == [
        "moving_in",
        "death",
    ]


def test_designated_city_residents_live_and_move_between_its_wards(
    osaka: dict[str, str], service_of: Services, moving_in: MovingIns, address: Addresses
) -> None:
    service = service_of("271004")
    resident = service.register_moving_in(moving_in(lg_code="271276", town="梅田一丁目"))
    # Between wards of one city is a 転居, not a 転出.
    service.relocate(
        resident.addressee_number,
        RelocationIn(
            address=address("271284", "難波一丁目"),
            occurred_on=date(2025, 2, 1),
            notified_on=date(2025, 2, 3),
        ),
    )
    assert resident.lg_code == "271284"
    with pytest.raises(ProblemError, match="転居"):
        service.move_out(
            resident.addressee_number,
            MovingOutIn(
                destination=address("271276", "梅田一丁目"),
                occurred_on=date(2025, 5, 1),
                notified_on=date(2025, 5, 1),
            ),
        )


@pytest.mark.parametrize(
    ("lg_code", "town", "reason"),
    [
        ("132012", "明神町一丁目", "outside tenant"),  # 八王子市 is not 千代田区
        ("271004", "梅田一丁目", "not a municipality or ward"),  # a designated city itself
        ("131016", "梅田一丁目", "not a town"),
        ("131016", "千代田一丁目", "not a town"),  # 千代田 has no 丁目
    ],
)
def test_addresses_must_be_real_towns_of_the_tenant(
    chiyoda: dict[str, str],
    service_of: Services,
    moving_in: MovingIns,
    lg_code: str,
    town: str,
    reason: str,
) -> None:
    with pytest.raises(ProblemError, match=reason) as refused:
        service_of("131016").register_moving_in(moving_in(lg_code=lg_code, town=town))
    assert refused.value.status == 422


def test_one_head_per_household_and_one_record_per_person(
    chiyoda: dict[str, str], service_of: Services, moving_in: MovingIns
) -> None:
    service = service_of("131016")
    head = service.register_moving_in(moving_in())
    with pytest.raises(ProblemError, match="世帯主") as second_head:
        service.register_moving_in(
            moving_in(
                personal_number="000000000019",
                resident_record_code="00000000027",
                household_number=head.household_number,
            )
        )
    assert second_head.value.status == 409
    with pytest.raises(ProblemError, match="already has a record") as again:
        service.register_moving_in(moving_in(resident_record_code="00000000027"))
    assert again.value.status == 409


def test_a_movement_before_the_latest_one_is_refused(
    chiyoda: dict[str, str], service_of: Services, moving_in: MovingIns, address: Addresses
) -> None:
    service = service_of("131016")
    resident = service.register_moving_in(moving_in())
    with pytest.raises(ProblemError, match="before the latest movement"):
        service.relocate(
            resident.addressee_number,
            RelocationIn(
                address=address("131016", "千代田"),
                occurred_on=date(2024, 3, 1),
                notified_on=date(2024, 3, 2),
            ),
        )


def test_a_failed_movement_leaves_nothing_half_written(
    chiyoda: dict[str, str],
    service_of: Services,
    moving_in: MovingIns,
    address: Addresses,
    db_session: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    service = service_of("131016")
    resident = service.register_moving_in(moving_in())
    addressee_number = resident.addressee_number
    # Another request recorded movement 1 first: this one's history row collides on flush,
    # after the resident's address was already changed in memory.
    monkeypatch.setattr(ResidentRepository, "last_movement_sequence", lambda *_: 0)
    with pytest.raises(ProblemError) as conflict, db_session.begin_nested():
        service.relocate(
            addressee_number,
            RelocationIn(
                address=address("131016", "千代田"),
                occurred_on=date(2025, 1, 10),
                notified_on=date(2025, 1, 15),
            ),
        )
    assert conflict.value.status == 409
    monkeypatch.undo()
    stored = db_session.get(Resident, ("131016", addressee_number))
    assert stored is not None
    assert (stored.town_name, stored.address_set_on) == ("霞が関一丁目", date(2024, 4, 1))
    assert _movement_kinds(db_session, "131016", addressee_number) == ["moving_in"]


def test_the_database_refuses_to_change_or_delete_movements(
    chiyoda: dict[str, str], service_of: Services, moving_in: MovingIns, db_session: Session
) -> None:
    service_of("131016").register_moving_in(moving_in())
    for statement in (
        text("UPDATE resident_movements SET town_name = '千代田'"),
        text("DELETE FROM resident_movements"),
    ):
        with pytest.raises(DBAPIError, match="immutable"), db_session.begin_nested():
            db_session.execute(statement)
    count = db_session.scalar(select(func.count()).select_from(ResidentMovement))
    assert count == 1


def test_orm_code_cannot_change_a_movement(
    chiyoda: dict[str, str], service_of: Services, moving_in: MovingIns, db_session: Session
) -> None:
    resident = service_of("131016").register_moving_in(moving_in())
    movement = service_of("131016").movements(resident.addressee_number)[0]
    movement.town_name = "千代田"
    with pytest.raises(ImmutableMovementError):
        db_session.flush()


def test_another_tenants_resident_is_not_found(
    chiyoda: dict[str, str], hachioji: dict[str, str], service_of: Services, moving_in: MovingIns
) -> None:
    resident = service_of("131016").register_moving_in(moving_in())
    with pytest.raises(NotFound):
        service_of("132012").resident(resident.addressee_number)
