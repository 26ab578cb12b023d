"""Tenants, their API keys and the dependency that checks them."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from conftest import SignIn
from kiban.core.sessions import SubjectKind
from kiban.core.tenancy import TenantApiKey, authenticate_token
from kiban.tenants.service import TenantError, TenantService


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("131017", "check digit"),
        ("13101", "6 digits"),
        ("999997", "no local government"),
        ("130001", "not a municipality"),  # 東京都
        ("271276", "enable the city 271004"),  # 大阪市北区, a ward of a designated city
    ],
)
def test_only_municipalities_can_be_tenants(db_session: Session, code: str, reason: str) -> None:
    with pytest.raises(TenantError, match=reason):
        TenantService(db_session).enable(code)


def test_enabling_twice_is_harmless(db_session: Session) -> None:
    service = TenantService(db_session)
    first, newly = service.enable("271004")
    again, newly_again = service.enable("271004")
    assert (newly, newly_again) == (True, False)
    assert first is again
    assert [summary.code for summary in service.summaries()] == ["271004"]


def test_a_key_is_stored_as_a_hash_and_stops_working_when_revoked(db_session: Session) -> None:
    service = TenantService(db_session)
    service.enable("131016")
    issued = service.create_key("131016", "窓口システム")
    stored = db_session.get(TenantApiKey, ("131016", issued.key_id))
    assert stored is not None
    assert issued.token.split("_", 3)[3] not in stored.secret_sha256
    caller = authenticate_token(db_session, issued.token)
    assert caller is not None
    assert (caller.tenant_code, caller.key_id) == ("131016", issued.key_id)
    assert service.summaries()[0].active_keys == 1
    service.revoke_key("131016", issued.key_id)
    assert authenticate_token(db_session, issued.token) is None
    assert service.summaries()[0].active_keys == 0


def test_keys_need_an_enabled_tenant(db_session: Session) -> None:
    with pytest.raises(TenantError, match="not enabled"):
        TenantService(db_session).create_key("131016", "x")


@pytest.mark.parametrize(
    "token",
    ["", "kiban", "kiban_131016", "kiban_131016_abcd1234", "other_131016_abcd1234_secret"],
)
def test_malformed_tokens_authenticate_nobody(db_session: Session, token: str) -> None:
    assert authenticate_token(db_session, token) is None


def test_a_revoked_key_is_401_and_another_tenants_key_403(
    client: TestClient, db_session: Session
) -> None:
    service = TenantService(db_session)
    for code in ("131016", "132012"):
        service.enable(code)
    chiyoda = service.create_key("131016", "tests")
    hachioji = service.create_key("132012", "tests")
    path = "/tenants/131016/residents?kana=ヤマダ"

    def status(token: str) -> int:
        response = client.get(path, headers={"Authorization": f"Bearer {token}"})
        return int(response.status_code)

    assert status(chiyoda.token) == 200
    assert status(hachioji.token) == 403
    service.revoke_key("131016", chiyoda.key_id)
    assert status(chiyoda.token) == 401
    missing = client.get(path)
    assert missing.status_code == 401
    assert missing.json()["type"].endswith("/unauthorized")


def test_staff_act_for_their_own_tenant_only_and_auditors_only_read(
    client: TestClient, db_session: Session, sign_in: SignIn
) -> None:
    service = TenantService(db_session)
    for code in ("131016", "132012"):
        service.enable(code)
    path = "/tenants/131016/residents"
    birth = {"occurred_on": "2025-01-01"}  # refused before the body matters, or a 422

    sign_in(SubjectKind.STAFF, "suzuki", tenant_code="131016", roles=["auditor"])
    assert client.get(path, params={"kana": "ヤマダ"}).status_code == 200
    refused = client.post(f"{path}/births", json=birth)
    assert refused.status_code == 403
    assert "clerk" in refused.json()["detail"]

    sign_in(SubjectKind.STAFF, "sato", tenant_code="131016", roles=["clerk"])
    assert client.post(f"{path}/births", json=birth).status_code == 422  # allowed, bad body

    sign_in(SubjectKind.STAFF, "tanaka", tenant_code="132012", roles=["admin"])
    assert client.get(path, params={"kana": "ヤマダ"}).status_code == 403
    assert client.post(f"{path}/births", json=birth).status_code == 403

    sign_in(SubjectKind.RESIDENT, "131016:000000012", tenant_code="131016")
    assert client.get(path, params={"kana": "ヤマダ"}).status_code == 403
