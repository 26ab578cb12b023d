"""The auditors' API: the consents a tenant's residents granted, and what became of them."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from conftest import SignIn
from kiban.core.sessions import SubjectKind
from kiban.mesh.consent.service import ConsentService
from kiban.tenants.service import TenantService
from mesh.consent.consent_support import (
    CHIYODA,
    HACHIOJI_CERTIFICATE,
    HANAKO,
    TARO,
    Gateways,
    grant,
    post_use,
    signed_use,
    use,
)

CONSENTS = "/tenants/131016/mesh/consents"


def _key(db_session: Session, tenant_code: str) -> dict[str, str]:
    service = TenantService(db_session)
    service.enable(tenant_code)
    return {"Authorization": f"Bearer {service.create_key(tenant_code, 'audit').token}"}


def _staff(sign_in: SignIn, role: str, tenant_code: str = "131016") -> None:
    sign_in(SubjectKind.STAFF, f"{role}-1", tenant_code=tenant_code, roles=[role])


@pytest.fixture
def consents(client: TestClient, db_session: Session, provider_gateways: Gateways) -> list[str]:
    """花子's one-time consent, spent; 花子's periodic consent, withdrawn; 太郎's; and one at
    八王子市.  Their identifiers, then the message id that spent the first."""
    spent = grant(db_session, kind="one-time")
    used = use(spent)
    assert post_use(client, signed_use(provider_gateways[CHIYODA], used)).status_code == 200
    withdrawn = grant(db_session)
    ConsentService(db_session).revoke_own(withdrawn, "131016", HANAKO)
    of_taro = grant(db_session, addressee_number=TARO)
    grant(db_session, tenant_code="132012", service=str(HACHIOJI_CERTIFICATE))
    return [spent, withdrawn, of_taro, used["message_id"]]


@pytest.mark.parametrize("role", ["auditor", "supervisor", "admin"])
def test_auditors_see_every_consent_of_their_residents(
    client: TestClient, sign_in: SignIn, consents: list[str], role: str
) -> None:
    spent, withdrawn, of_taro, message_id = consents
    _staff(sign_in, role)
    listed = client.get(CONSENTS)
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert (body["total"], body["page"], body["per_page"]) == (3, 1, 100)
    by_id = {item["consent"]: item for item in body["items"]}
    assert set(by_id) == {spent, withdrawn, of_taro}
    first = by_id[spent]
    assert first["subject"] == HANAKO
    assert (first["consumer"], first["consumer_name"]) == (
        "JP/COM/8900000000001/loans",
        "株式会社さくら銀行",
    )
    assert (first["service"], first["service_title"]) == (
        "JP/LG/131016/juki/resident-certificate/v1",
        "住民票情報",
    )
    assert first["items"] == ["GET /residents/{addressee_number}/certificate"]
    assert (first["kind"], first["status"], first["use_count"]) == ("one-time", "used", 1)
    assert first["used_message_id"] == message_id
    assert first["used_at"] is not None
    second = by_id[withdrawn]
    assert (second["status"], second["revoked_by"]) == ("revoked", f"resident:131016:{HANAKO}")
    assert second["revocation_reason"] is None
    assert by_id[of_taro]["status"] == "active"


def test_auditors_ask_about_one_person_and_page_through(
    client: TestClient, sign_in: SignIn, consents: list[str]
) -> None:
    spent, withdrawn, of_taro, _message_id = consents
    _staff(sign_in, "auditor")

    def ids(**params: Any) -> list[str]:
        response = client.get(CONSENTS, params=params)
        assert response.status_code == 200, response.text
        return [item["consent"] for item in response.json()["items"]]

    assert set(ids(subject=HANAKO)) == {spent, withdrawn}
    assert ids(subject=TARO) == [of_taro]
    assert len(ids(per_page=2)) == 2
    assert len(ids(per_page=2, page=2)) == 1


def test_the_tenants_key_reads_and_another_tenants_is_refused(
    client: TestClient, db_session: Session, consents: list[str]
) -> None:
    own = client.get(CONSENTS, headers=_key(db_session, "131016"))
    assert own.status_code == 200
    assert own.json()["total"] == 3
    other = client.get(CONSENTS, headers=_key(db_session, "132012"))
    assert other.status_code == 403
    assert other.headers["content-type"] == "application/problem+json"
    assert "another tenant" in other.json()["detail"]
    assert client.get(CONSENTS).status_code == 401


def test_another_tenants_auditor_and_a_clerk_are_refused(
    client: TestClient, sign_in: SignIn, consents: list[str]
) -> None:
    _staff(sign_in, "auditor", tenant_code="132012")
    assert client.get(CONSENTS).status_code == 403
    # 八王子市's auditor reads 八王子市's consents only.
    own = client.get("/tenants/132012/mesh/consents").json()
    assert [item["service"] for item in own["items"]] == [str(HACHIOJI_CERTIFICATE)]
    _staff(sign_in, "clerk")
    refused = client.get(CONSENTS)
    assert refused.status_code == 403
    assert "auditor" in refused.json()["detail"]
