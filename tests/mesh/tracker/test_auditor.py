"""The auditors' API: a tenant's own records, hidden ones too; hiding one, for supervisors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from conftest import SignIn
from kiban.core.audit import AuditEvent
from kiban.core.sessions import SubjectKind
from kiban.tenants.service import TenantService
from mesh.tracker.tracker_support import (
    HACHIOJI,
    HACHIOJI_CERTIFICATE,
    HANAKO,
    TARO,
    SetClock,
    store,
    use,
)

USES = "/tenants/131016/mesh/data-uses"


def _key(db_session: Session, tenant_code: str) -> dict[str, str]:
    service = TenantService(db_session)
    service.enable(tenant_code)
    return {"Authorization": f"Bearer {service.create_key(tenant_code, 'audit').token}"}


def _staff(sign_in: SignIn, role: str, tenant_code: str = "131016") -> None:
    sign_in(SubjectKind.STAFF, f"{role}-1", tenant_code=tenant_code, roles=[role])


@pytest.fixture
def records(db_session: Session, mesh: None) -> list[dict[str, Any]]:
    """Three records of 千代田区 (two of 花子's) and one of 八王子市."""
    made = [
        use(used_at="2026-03-01T00:00:00Z"),
        use(used_at="2026-03-02T00:00:00Z", user_id=None),
        use(used_at="2026-03-03T00:00:00Z", subject=TARO),
    ]
    store(db_session, made)
    store(db_session, [use(service=str(HACHIOJI_CERTIFICATE))], provider=HACHIOJI)
    return made


def _hide(client: TestClient, message_id: str, **body: str) -> httpx2.Response:
    return client.post(
        f"{USES}/{message_id}/hide",
        json={"until": "2027-03-31", "reason": "警察からの照会に基づく", **body},
    )


@pytest.mark.parametrize("role", ["auditor", "supervisor", "admin"])
def test_auditors_see_every_record_of_their_own_member(
    client: TestClient, sign_in: SignIn, records: list[dict[str, Any]], role: str
) -> None:
    _staff(sign_in, role)
    listed = client.get(USES)
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert (body["total"], body["page"], body["per_page"]) == (3, 1, 100)
    assert [item["message_id"] for item in body["items"]] == [
        record["message_id"] for record in reversed(records)
    ]
    newest_of_hanako = body["items"][1]
    assert newest_of_hanako == {
        "message_id": records[1]["message_id"],
        "subject": HANAKO,
        "used_at": "2026-03-02T00:00:00Z",
        "received_at": newest_of_hanako["received_at"],
        "service": "JP/LG/131016/juki/resident-certificate/v1",
        "service_title": "住民票情報",
        "client": "JP/LG/011002/tax",
        "client_name": "札幌市",
        "user_id": None,
        "purpose": "tax-assessment",
        "legal_basis": "地方税法第294条",
        "hidden_until": None,
        "hidden_reason": None,
        "hidden_by": None,
        "hidden_at": None,
    }


def test_auditors_filter_by_person_and_time_and_page_through(
    client: TestClient, sign_in: SignIn, records: list[dict[str, Any]]
) -> None:
    _staff(sign_in, "auditor")

    def ids(**params: Any) -> list[str]:
        response = client.get(USES, params=params)
        assert response.status_code == 200, response.text
        return [item["message_id"] for item in response.json()["items"]]

    first, second, third = (record["message_id"] for record in records)
    assert ids(subject=HANAKO) == [second, first]
    assert ids(since="2026-03-02T09:00:00+09:00") == [third, second]
    assert ids(until="2026-03-02T00:00:00Z") == [first]
    assert ids(per_page=2) == [third, second]
    assert ids(per_page=2, page=2) == [first]
    naive = client.get(USES, params={"since": "2026-03-02T00:00:00"})
    assert naive.status_code == 422
    assert "timezone" in naive.json()["detail"]


def test_the_tenants_key_reads_and_another_tenants_is_refused(
    client: TestClient, db_session: Session, records: list[dict[str, Any]]
) -> None:
    own = client.get(USES, headers=_key(db_session, "131016"))
    assert own.status_code == 200
    assert own.json()["total"] == 3
    other = client.get(USES, headers=_key(db_session, "132012"))
    assert other.status_code == 403
    assert other.headers["content-type"] == "application/problem+json"
    assert "another tenant" in other.json()["detail"]
    assert client.get(USES).status_code == 401


def test_another_tenants_auditor_and_a_clerk_are_refused(
    client: TestClient, sign_in: SignIn, records: list[dict[str, Any]]
) -> None:
    _staff(sign_in, "auditor", tenant_code="132012")
    assert client.get(USES).status_code == 403
    # 八王子市's auditor reads 八王子市's records only.
    own = client.get("/tenants/132012/mesh/data-uses").json()
    assert [item["service"] for item in own["items"]] == [str(HACHIOJI_CERTIFICATE)]
    _staff(sign_in, "clerk")
    refused = client.get(USES)
    assert refused.status_code == 403
    assert "auditor" in refused.json()["detail"]


def test_a_supervisor_hides_a_record_which_auditors_still_see(
    client: TestClient,
    db_session: Session,
    sign_in: SignIn,
    records: list[dict[str, Any]],
    set_clock: SetClock,
) -> None:
    set_clock(datetime(2027, 1, 10, 0, 0, tzinfo=UTC))
    _staff(sign_in, "supervisor")
    message_id = records[0]["message_id"]
    hidden = _hide(client, message_id)
    assert hidden.status_code == 200, hidden.text
    body = hidden.json()
    assert (body["message_id"], body["client_name"], body["service_title"]) == (
        message_id,
        "札幌市",
        "住民票情報",
    )
    assert (body["hidden_until"], body["hidden_reason"], body["hidden_by"]) == (
        "2027-03-31",
        "警察からの照会に基づく",
        "staff:131016:supervisor-1",
    )
    assert body["hidden_at"] == "2027-01-10T00:00:00Z"
    # Hidden again for longer.
    assert _hide(client, message_id, until="2027-06-30").json()["hidden_until"] == "2027-06-30"
    events = db_session.scalars(
        select(AuditEvent).where(AuditEvent.action == "mesh.data_use.hide")
    ).all()
    assert [(event.actor, event.tenant_code, event.subject) for event in events] == [
        ("staff:131016:supervisor-1", "131016", "mesh:JP/LG/131016")
    ] * 2
    assert [event.details for event in events] == [
        {"message_id": message_id, "until": "2027-03-31", "previous_until": None},
        {"message_id": message_id, "until": "2027-06-30", "previous_until": "2027-03-31"},
    ]

    _staff(sign_in, "auditor")
    listed = client.get(USES, params={"subject": HANAKO}).json()["items"]
    assert [(item["message_id"], item["hidden_until"]) for item in listed][-1] == (
        message_id,
        "2027-06-30",
    )


def test_only_supervisors_and_administrators_hide_records(
    client: TestClient, db_session: Session, sign_in: SignIn, records: list[dict[str, Any]]
) -> None:
    message_id = records[0]["message_id"]
    _staff(sign_in, "auditor")
    assert _hide(client, message_id).status_code == 403
    client.cookies.clear()
    by_key = client.post(
        f"{USES}/{message_id}/hide",
        json={"until": "2027-03-31", "reason": "照会"},
        headers=_key(db_session, "131016"),
    )
    assert by_key.status_code == 403
    assert "a staff member must sign in" in by_key.json()["detail"]
    _staff(sign_in, "supervisor", tenant_code="132012")
    assert _hide(client, message_id).status_code == 403
    # Nor can 八王子市's supervisor reach 千代田区's record through their own tenant.
    other = client.post(
        f"/tenants/132012/mesh/data-uses/{message_id}/hide",
        json={"until": "2027-03-31", "reason": "照会"},
    )
    assert other.status_code == 404
    _staff(sign_in, "admin")
    assert _hide(client, message_id).status_code == 200


@pytest.mark.parametrize(
    ("message_id", "body", "status", "detail"),
    [
        ("4f5d3d0c-0000-4000-8000-000000000000", {}, 404, "has no data-tracker record"),
        (None, {"until": "2020-01-01"}, 400, "2020-01-01 has passed (Japan time)"),
        (None, {"reason": "   "}, 422, "must not be blank"),
        (None, {"reason": "理由" * 251}, 422, "at most 500 characters"),
        ("not-a-uuid", {}, 422, "valid UUID"),
    ],
)
def test_a_hiding_that_cannot_be_is_explained(
    client: TestClient,
    sign_in: SignIn,
    records: list[dict[str, Any]],
    message_id: str | None,
    body: dict[str, str],
    status: int,
    detail: str,
) -> None:
    _staff(sign_in, "supervisor")
    response = _hide(client, message_id or records[0]["message_id"], **body)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert detail in response.json()["detail"]


def test_a_day_in_japan_is_not_yet_over_in_utc(
    client: TestClient, sign_in: SignIn, records: list[dict[str, Any]], set_clock: SetClock
) -> None:
    # 2027-04-01 00:30 in Japan is still 2027-03-31 in UTC: the 31st has passed in Japan.
    set_clock(datetime(2027, 3, 31, 15, 30, tzinfo=UTC))
    _staff(sign_in, "supervisor")
    refused = _hide(client, records[0]["message_id"], until="2027-03-31")
    assert refused.status_code == 400
    assert _hide(client, records[0]["message_id"], until="2027-04-01").status_code == 200
