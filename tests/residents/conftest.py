"""Tenants with API keys, services and notifications to build resident records from."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy.orm import Session

from kiban.core.crypto import PersonalNumberHasher
from kiban.residents.codes import Relationship, Sex
from kiban.residents.schemas import AddressIn, HouseholdPlacement, MovingInIn, PersonIn
from kiban.residents.service import ResidentService
from kiban.tenants.service import TenantService

# The day the tests pretend it is, so that no date check depends on the real clock.
TODAY = date(2025, 6, 30)


def _enable_with_key(session: Session, code: str) -> dict[str, str]:
    service = TenantService(session)
    service.enable(code)
    return {"Authorization": f"Bearer {service.create_key(code, 'tests').token}"}


@pytest.fixture
def chiyoda(db_session: Session) -> dict[str, str]:
    """千代田区 (131016) enabled; the headers carry one of its API keys."""
    return _enable_with_key(db_session, "131016")


@pytest.fixture
def hachioji(db_session: Session) -> dict[str, str]:
    """八王子市 (132012) enabled; the headers carry one of its API keys."""
    return _enable_with_key(db_session, "132012")


@pytest.fixture
def osaka(db_session: Session) -> dict[str, str]:
    """大阪市 (271004), a designated city, enabled; the headers carry one of its API keys."""
    return _enable_with_key(db_session, "271004")


@pytest.fixture
def hasher() -> PersonalNumberHasher:
    return PersonalNumberHasher(b"key for the tests")


@pytest.fixture
def service_of(
    db_session: Session, hasher: PersonalNumberHasher
) -> Callable[[str], ResidentService]:
    """The resident service of an (already enabled) tenant, on the test's session."""
    return lambda code: ResidentService(db_session, code, hasher, today=lambda: TODAY)


def _address(lg_code: str, town: str, banchi: str = "1-3") -> AddressIn:
    return AddressIn(lg_code=lg_code, town_name=town, banchi=banchi, katagaki=None)


@pytest.fixture
def address() -> Callable[..., AddressIn]:
    return _address


@pytest.fixture
def moving_in() -> Callable[..., MovingInIn]:
    """A 転入届 to 千代田区 霞が関一丁目 unless told otherwise."""

    def build(
        *,
        personal_number: str = "123456789018",
        resident_record_code: str = "00000000019",
        household_number: str | None = None,
        relationship: Relationship = Relationship.HEAD,
        lg_code: str = "131016",
        town: str = "霞が関一丁目",
        family: tuple[str, str] = ("山田", "ヤマダ"),
        given: tuple[str, str] = ("花子", "ハナコ"),
        birth_date: date = date(1980, 5, 1),
        sex: Sex = Sex.FEMALE,
        moved_in_on: date = date(2024, 4, 1),
    ) -> MovingInIn:
        return MovingInIn(
            person=PersonIn(
                family_name=family[0],
                given_name=given[0],
                family_name_kana=family[1],
                given_name_kana=given[1],
                birth_date=birth_date,
                sex=sex,
            ),
            resident_record_code=resident_record_code,
            personal_number=SecretStr(personal_number),
            household=HouseholdPlacement(
                household_number=household_number, relationship=relationship
            ),
            address=_address(lg_code, town),
            moved_in_on=moved_in_on,
            notified_on=moved_in_on,
        )

    return build


@pytest.fixture
def moving_in_json() -> Callable[..., dict[str, Any]]:
    """A 転入届 as an API client sends it, readings typed in hiragana and half-width kana."""

    def build(**changes: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "person": {
                "family_name": "山田",
                "given_name": "花子",
                "family_name_kana": "やまだ",
                "given_name_kana": "ﾊﾅｺ",
                "birth_date": "1980-05-01",
                "sex": "2",
            },
            "resident_record_code": "00000000019",
            "personal_number": "123456789018",
            "household": {"relationship": "世帯主"},
            "address": {"lg_code": "131016", "town_name": "霞が関一丁目", "banchi": "1-3"},
            "moved_in_on": "2024-04-01",
            "notified_on": "2024-04-05",
        }
        body.update(changes)
        return body

    return build
