"""Certificates follow resident movements: 転出 and 死亡 revoke both, 転居 the signing one."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.orm import Session

from identity.ca.ca_support import TODAY
from identity.card.conftest import Holder
from kiban.core.crypto import PersonalNumberHasher
from kiban.identity.ca.models import CertificateStatus, RevocationReason
from kiban.identity.card.lifecycle import on_resident_address_changed, on_resident_removed
from kiban.residents.events import ResidentAddressChanged, ResidentRemoved
from kiban.residents.schemas import AddressIn, DeathIn, MovingOutIn
from kiban.residents.service import ResidentService


@pytest.mark.parametrize("movement", ["moving_out", "death"])
def test_moving_out_or_death_at_the_counter_revokes_both_certificates(
    db_session: Session, holder: Holder, movement: str
) -> None:
    """Through the resident service, as a clerk records it: the events are wired."""
    resident = holder.resident
    service = ResidentService(
        db_session,
        resident.tenant_code,
        PersonalNumberHasher(b"key for the tests"),
        today=lambda: TODAY,
    )
    if movement == "moving_out":
        destination = AddressIn(
            lg_code="132012", town_name="明神町一丁目", banchi="1", katagaki=None
        )
        service.move_out(
            resident.addressee_number,
            MovingOutIn(destination=destination, occurred_on=TODAY, notified_on=TODAY),
        )
    else:
        service.record_death(
            resident.addressee_number, DeathIn(occurred_on=TODAY, notified_on=TODAY)
        )
    signing = holder.certificates.signing
    assert signing is not None
    for record in (holder.certificates.authentication.record, signing.record):
        db_session.refresh(record)
        assert record.status == CertificateStatus.REVOKED
        assert record.revocation_reason == RevocationReason.CESSATION_OF_OPERATION


def test_relocation_revokes_only_the_signing_certificate(
    db_session: Session, holder: Holder
) -> None:
    resident = holder.resident
    on_resident_address_changed(
        db_session,
        ResidentAddressChanged(resident.tenant_code, resident.addressee_number, date(2025, 6, 1)),
    )
    signing = holder.certificates.signing
    assert signing is not None
    db_session.refresh(signing.record)
    assert signing.record.status == CertificateStatus.REVOKED
    assert signing.record.revocation_reason == RevocationReason.AFFILIATION_CHANGED
    authentication = holder.certificates.authentication.record
    db_session.refresh(authentication)
    assert authentication.status == CertificateStatus.VALID


def test_handlers_do_nothing_for_a_resident_without_a_card(db_session: Session) -> None:
    on_resident_removed(db_session, ResidentRemoved("131016", "0000000019", "died", date.today()))
