"""Residents with certificates, for the CA and card tests (imported by both conftests)."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import SecretStr
from sqlalchemy.orm import Session

from kiban.core.config import Settings
from kiban.core.crypto import PersonalNumberHasher
from kiban.core.identifiers import random_personal_number, random_resident_record_code
from kiban.identity.ca.authority import Authority, ensure_authority
from kiban.identity.ca.service import CertificateAuthorityService, ResidentCertificates
from kiban.residents.codes import Relationship, Sex
from kiban.residents.models import Resident
from kiban.residents.schemas import AddressIn, HouseholdPlacement, MovingInIn, PersonIn
from kiban.residents.service import ResidentService
from kiban.tenants.service import TenantService

CHIYODA = "131016"
TODAY = date(2025, 6, 30)  # what the resident service believes; certificates use the real clock

MakeResident = Callable[..., Resident]


def years_ago(years: int) -> date:
    today = date.today()
    return today.replace(year=today.year - years, day=min(today.day, 28))


@pytest.fixture
def authority(db_session: Session, settings: Settings) -> Authority:
    authority, _created = ensure_authority(db_session, settings)
    return authority


@pytest.fixture
def make_resident(db_session: Session) -> MakeResident:
    """A resident of 千代田区 who moved in on 2024-04-01: 山田 花子, born as told."""
    TenantService(db_session).enable(CHIYODA)
    service = ResidentService(
        db_session, CHIYODA, PersonalNumberHasher(b"key for the tests"), today=lambda: TODAY
    )
    rng = random.Random()

    def make(birth_date: date = date(1980, 5, 1), given: str = "花子") -> Resident:
        return service.register_moving_in(
            MovingInIn(
                person=PersonIn(
                    family_name="山田",
                    given_name=given,
                    family_name_kana="ヤマダ",
                    given_name_kana="ハナコ",
                    birth_date=birth_date,
                    sex=Sex.FEMALE,
                ),
                resident_record_code=random_resident_record_code(rng),
                personal_number=SecretStr(random_personal_number(rng)),
                household=HouseholdPlacement(household_number=None, relationship=Relationship.HEAD),
                address=AddressIn(
                    lg_code=CHIYODA, town_name="霞が関一丁目", banchi="1-3", katagaki=None
                ),
                moved_in_on=max(birth_date, date(2024, 4, 1)),
                notified_on=max(birth_date, date(2024, 4, 1)),
            )
        )

    return make


def issue_certificates(
    session: Session,
    settings: Settings,
    resident: Resident,
    *,
    authentication_key: ec.EllipticCurvePrivateKey | None = None,
) -> ResidentCertificates:
    """Both certificates for ``resident`` (the signing one if old enough), fresh keys."""
    return CertificateAuthorityService(session, settings).issue_for_resident(
        resident.tenant_code,
        resident.addressee_number,
        authentication_key=(
            authentication_key or ec.generate_private_key(ec.SECP256R1())
        ).public_key(),
        signing_key=ec.generate_private_key(ec.SECP256R1()).public_key(),
        actor="test",
    )


def serial_of(certificate: x509.Certificate) -> str:
    return f"{certificate.serial_number:x}"
