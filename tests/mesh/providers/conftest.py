"""Tenants with their gateways' keys, and families moved in through the resident service."""

from __future__ import annotations

import random
from datetime import date

import pytest
from pydantic import SecretStr
from sqlalchemy.orm import Session

from kiban.core.crypto import PersonalNumberHasher
from kiban.core.identifiers import random_personal_number, random_resident_record_code
from kiban.residents.models import Resident
from kiban.residents.schemas import AddressIn, HouseholdPlacement, MovingInIn, PersonIn
from kiban.residents.service import ResidentService
from kiban.tenants.service import TenantService
from mesh.providers.providers_support import (
    CHIYODA,
    HACHIOJI,
    HANAKO,
    ICHIRO,
    TARO,
    TODAY,
    Member,
    MoveIn,
    gateway_headers,
)


@pytest.fixture
def chiyoda(db_session: Session) -> dict[str, str]:
    """千代田区 enabled; the headers are its gateway's: an API key and an exchange's."""
    return gateway_headers(db_session, CHIYODA)


@pytest.fixture
def hachioji(db_session: Session) -> dict[str, str]:
    """八王子市 enabled; the headers are its gateway's."""
    return gateway_headers(db_session, HACHIOJI)


@pytest.fixture
def hasher() -> PersonalNumberHasher:
    return PersonalNumberHasher(b"key for the tests")


@pytest.fixture
def records(db_session: Session, hasher: PersonalNumberHasher) -> ResidentService:
    """千代田区's resident records, to record movements with."""
    return ResidentService(db_session, CHIYODA, hasher, today=lambda: TODAY)


@pytest.fixture
def move_in(db_session: Session, hasher: PersonalNumberHasher) -> MoveIn:
    """Move a household into a tenant, enabled if need be (千代田区 霞が関一丁目 unless told),
    its head first."""
    rng = random.Random(7)

    def household(
        *members: Member,
        tenant: str = CHIYODA,
        lg_code: str = CHIYODA,
        town: str = "霞が関一丁目",
        on: date = date(2020, 4, 1),
    ) -> list[Resident]:
        TenantService(db_session).enable(tenant)
        service = ResidentService(db_session, tenant, hasher, today=lambda: TODAY)
        residents: list[Resident] = []
        for member in members:
            placement = HouseholdPlacement(
                household_number=residents[0].household_number if residents else None,
                relationship=member.relationship,
            )
            moved_in = max(on, member.birth_date)
            notification = MovingInIn(
                person=PersonIn(
                    family_name=member.family[0],
                    given_name=member.given[0],
                    family_name_kana=member.family[1],
                    given_name_kana=member.given[1],
                    birth_date=member.birth_date,
                    sex=member.sex,
                ),
                resident_record_code=random_resident_record_code(rng),
                personal_number=SecretStr(random_personal_number(rng)),
                household=placement,
                address=AddressIn(lg_code=lg_code, town_name=town, banchi="1-3", katagaki=None),
                moved_in_on=moved_in,
                notified_on=moved_in,
            )
            residents.append(service.register_moving_in(notification))
        return residents

    return household


@pytest.fixture
def yamada(move_in: MoveIn) -> list[Resident]:
    """A family of three in 千代田区 since 2020: 太郎 (head), 花子 (wife), 一郎 (child, 12)."""
    return move_in(TARO, HANAKO, ICHIRO)
