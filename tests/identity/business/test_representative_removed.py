"""A prime follows its representative's resident record: 転出 or 死亡 disables it, members stay."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from conftest import SignIn
from identity.business.conftest import PASSWORD, Holder, audit_trail
from identity.ca.ca_support import CHIYODA, TODAY, MakeResident
from kiban.core.crypto import PersonalNumberHasher
from kiban.core.errors import NotFound
from kiban.core.sessions import SubjectKind
from kiban.identity.business.lifecycle import ACTOR, on_resident_removed
from kiban.identity.business.service import BusinessConflict, BusinessService, business_claims
from kiban.residents.events import ResidentRemoved
from kiban.residents.schemas import AddressIn, DeathIn, MovingOutIn
from kiban.residents.service import ResidentService


def _remove_representative(session: Session, resident_ref: str, movement: str) -> None:
    """As a clerk records it at the counter, so the event goes through the real wiring."""
    tenant_code, _, addressee_number = resident_ref.partition(":")
    service = ResidentService(
        session, tenant_code, PersonalNumberHasher(b"key for the tests"), today=lambda: TODAY
    )
    if movement == "moving_out":
        destination = AddressIn(
            lg_code="132012", town_name="明神町一丁目", banchi="1", katagaki=None
        )
        service.move_out(
            addressee_number,
            MovingOutIn(destination=destination, occurred_on=TODAY, notified_on=TODAY),
        )
    else:
        service.record_death(addressee_number, DeathIn(occurred_on=TODAY, notified_on=TODAY))


@pytest.mark.parametrize("movement", ["moving_out", "death"])
def test_the_representatives_removal_disables_every_prime_they_hold_at_once(
    client: TestClient,
    db_session: Session,
    sign_in: SignIn,
    resident: str,
    prime: Holder,
    member: Holder,
    other_company: str,
    movement: str,
) -> None:
    service = BusinessService(db_session)
    second_prime = service.create_prime(resident, other_company, "yamada@hibiya.example", PASSWORD)
    open_session = sign_in(SubjectKind.BUSINESS, prime.account.account_id)

    _remove_representative(db_session, resident, movement)

    for account in (prime.account, second_prime):
        assert account.disabled_at is not None
        assert account.disabled_reason == "representative_removed"
        assert ("business.disable", "success", ACTOR) in audit_trail(db_session, account)
        with pytest.raises(NotFound):  # relying parties no longer get its claims
            business_claims(db_session, account.account_id)
    db_session.refresh(open_session)
    assert open_session.ended_at is not None
    assert client.get("/business/account", follow_redirects=False).status_code == 303

    # The company still exists: its members keep signing in and acting for it.
    assert member.account.disabled_at is None
    assert business_claims(db_session, member.account.account_id).account_type == "member"


def test_the_next_representative_registers_a_new_prime_who_manages_the_members(
    db_session: Session,
    make_resident: MakeResident,
    resident: str,
    prime: Holder,
    member: Holder,
    company: str,
) -> None:
    _remove_representative(db_session, resident, "death")
    successor = make_resident(given="太郎")
    new_prime = BusinessService(db_session).create_prime(
        f"{CHIYODA}:{successor.addressee_number}", company, "taro@kasumigaseki.example", PASSWORD
    )
    assert BusinessService(db_session).members(new_prime) == [member.account]
    BusinessService(db_session).remove_member(new_prime, member.account.account_id)
    assert member.account.disabled_reason == "removed_by_prime"


def test_the_old_prime_cannot_be_enabled_again(
    db_session: Session, resident: str, prime: Holder
) -> None:
    """Its person is no longer a resident: the company's representative registers anew."""
    _remove_representative(db_session, resident, "moving_out")
    with pytest.raises(BusinessConflict, match="no longer current"):
        BusinessService(db_session).enable(prime.account, actor="operator")
    assert prime.account.disabled_at is not None


def test_a_resident_who_represents_no_company_changes_nothing(
    db_session: Session, make_resident: MakeResident, prime: Holder
) -> None:
    neighbour = make_resident(given="次郎")
    on_resident_removed(
        db_session, ResidentRemoved(CHIYODA, neighbour.addressee_number, "died", TODAY)
    )
    assert prime.account.disabled_at is None
