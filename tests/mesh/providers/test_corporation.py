"""The national corporation service, reached with the national tax agency's provider key."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from companies import add_company
from kiban.core.audit import AuditEvent
from kiban.core.errors import NotFound
from kiban.mesh.identifiers import MemberId
from kiban.mesh.providers.catalogue import NATIONAL_TAX_AGENCY
from kiban.mesh.providers.keys import ProviderKeyService
from kiban.mesh.registry.service import RegistrationRefused, RegistryService
from mesh.providers.providers_support import DATA_SUBJECT, exchange_headers

CORPORATION = "/mesh-providers/national/corporation/v1/corporations/{number}"
DIGITAL_AGENCY = MemberId.parse("JP/GOV/6000012010023")


def _approved(session: Session, member: MemberId, name: str) -> None:
    registry = RegistryService(session)
    registry.request_member(member, requested_by="operator", name=name)
    registry.approve_member(member, operator="operator")


def _key_of(session: Session, member: MemberId) -> dict[str, str]:
    token = ProviderKeyService(session).create(member, "gateway", actor="operator").token
    return {"Authorization": f"Bearer {token}", **exchange_headers()}


@pytest.fixture
def national_tax_agency(db_session: Session) -> dict[str, str]:
    """The national tax agency on the mesh; the headers are its gateway's."""
    _approved(db_session, NATIONAL_TAX_AGENCY, "国税庁")
    return _key_of(db_session, NATIONAL_TAX_AGENCY)


def test_a_corporation_is_answered_from_the_registry(
    client: TestClient, db_session: Session, national_tax_agency: dict[str, str]
) -> None:
    number = add_company(db_session, "700110005901", "株式会社霞が関商事", "カスミガセキショウジ")
    response = client.get(CORPORATION.format(number=number), headers=national_tax_agency)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["number"], body["name"], body["kind_name"]) == (
        number,
        "株式会社霞が関商事",
        "株式会社",
    )
    assert body["address"]["text"] == "東京都千代田区霞が関一丁目3-1"
    # A corporation is not a person: the data tracker has nobody to record.
    assert DATA_SUBJECT not in response.headers


@pytest.mark.parametrize(
    ("number", "status"),
    [("1234567890123", 422), ("12345", 422), ("法人番号", 422), ("6000000000003", 404)],
)
def test_numbers_are_checked_and_unknown_ones_not_found(
    client: TestClient, national_tax_agency: dict[str, str], number: str, status: int
) -> None:
    response = client.get(CORPORATION.format(number=number), headers=national_tax_agency)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"


def test_only_the_national_tax_agencys_gateway_is_admitted(
    client: TestClient,
    db_session: Session,
    national_tax_agency: dict[str, str],
    chiyoda: dict[str, str],
) -> None:
    number = add_company(db_session, "700110005901", "株式会社霞が関商事", "カスミガセキショウジ")
    path = CORPORATION.format(number=number)
    _approved(db_session, DIGITAL_AGENCY, "デジタル庁")
    another_members = _key_of(db_session, DIGITAL_AGENCY)
    assert client.get(path, headers=another_members).status_code == 403
    assert client.get(path, headers=chiyoda).status_code == 401  # a tenant's key is not one
    assert client.get(path, headers=exchange_headers()).status_code == 401
    tampered = {**national_tax_agency, "Authorization": national_tax_agency["Authorization"][:-2]}
    assert client.get(path, headers=tampered).status_code == 401
    assert client.get(path, headers=national_tax_agency).status_code == 200


def test_a_revoked_key_is_refused_at_once(
    client: TestClient, db_session: Session, national_tax_agency: dict[str, str]
) -> None:
    number = add_company(db_session, "700110005901", "株式会社霞が関商事", "カスミガセキショウジ")
    service = ProviderKeyService(db_session)
    (key,) = service.keys(NATIONAL_TAX_AGENCY)
    service.revoke(NATIONAL_TAX_AGENCY, key.key_id, actor="operator")
    response = client.get(CORPORATION.format(number=number), headers=national_tax_agency)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_keys_are_issued_to_approved_members_that_are_not_tenants(db_session: Session) -> None:
    service = ProviderKeyService(db_session)
    with pytest.raises(RegistrationRefused, match="not an approved member"):
        service.create(NATIONAL_TAX_AGENCY, "gateway", actor="operator")
    _approved(db_session, NATIONAL_TAX_AGENCY, "国税庁")
    with pytest.raises(RegistrationRefused, match="1 to 64"):
        service.create(NATIONAL_TAX_AGENCY, " ", actor="operator")
    _approved(db_session, MemberId.parse("JP/LG/131016"), "")
    with pytest.raises(RegistrationRefused, match="tenant API key"):
        service.create(MemberId.parse("JP/LG/131016"), "gateway", actor="operator")
    with pytest.raises(NotFound):
        service.revoke(NATIONAL_TAX_AGENCY, "nokey", actor="operator")
    issued = service.create(NATIONAL_TAX_AGENCY, "gateway", actor="operator")
    assert issued.token.startswith(f"kibanmesh_GOV_7000012050002_{issued.key_id}_")
    (stored,) = service.keys(NATIONAL_TAX_AGENCY)
    assert issued.token not in (stored.secret_sha256, stored.name)
    service.revoke(NATIONAL_TAX_AGENCY, issued.key_id, actor="operator")
    actions = db_session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.subject == "mesh:JP/GOV/7000012050002")
        .order_by(AuditEvent.id)
    )
    assert [action for action in actions if "provider-key" in action] == [
        "mesh.provider-key.create",
        "mesh.provider-key.revoke",
    ]
