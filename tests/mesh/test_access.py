"""Access rights: least privilege, to a subsystem, a global group or a local group."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kiban.core.audit import AuditEvent
from kiban.core.errors import NotFound
from kiban.mesh.identifiers import MemberId, ServiceId, SubsystemId
from kiban.mesh.registry.access import AccessService, Endpoint, Grantee
from kiban.mesh.registry.service import RegistrationRefused, RegistryService
from mesh.openapi_support import register

CHIYODA = MemberId.parse("JP/LG/131016")
SAPPORO = MemberId.parse("JP/LG/011002")
NAHA = MemberId.parse("JP/LG/472018")
JUKI = SubsystemId.of(CHIYODA, "juki")
SAPPORO_TAX = SubsystemId.of(SAPPORO, "tax")
NAHA_TAX = SubsystemId.of(NAHA, "tax")
CERTIFICATE = ServiceId.of(JUKI, "resident-certificate", "v1")
ONE_CERTIFICATE = ("GET", "/residents/000000012/certificate")
ONE_HOUSEHOLD = ("GET", "/residents/000000012/household")


@pytest.fixture
def access(db_session: Session) -> AccessService:
    register(
        RegistryService(db_session),
        (CHIYODA, SAPPORO, NAHA),
        (JUKI, SAPPORO_TAX, NAHA_TAX),
        CERTIFICATE,
    )
    return AccessService(db_session)


def _grant(access: AccessService, to: str, endpoint: str | None = None) -> None:
    access.grant(CERTIFICATE, Grantee.parse(to), endpoint=Endpoint.parse(endpoint), actor="chiyoda")


def test_nothing_is_allowed_that_no_right_names(access: AccessService) -> None:
    assert not access.is_allowed(SAPPORO_TAX, CERTIFICATE, *ONE_CERTIFICATE)
    assert not access.is_allowed(JUKI, CERTIFICATE, *ONE_CERTIFICATE)  # not even the provider


def test_a_right_to_one_operation_allows_that_operation_only(access: AccessService) -> None:
    _grant(access, str(SAPPORO_TAX), "GET /residents/{addressee_number}/certificate")
    assert access.is_allowed(SAPPORO_TAX, CERTIFICATE, *ONE_CERTIFICATE)
    assert not access.is_allowed(SAPPORO_TAX, CERTIFICATE, *ONE_HOUSEHOLD)
    assert not access.is_allowed(SAPPORO_TAX, CERTIFICATE, "POST", ONE_CERTIFICATE[1])
    # A template parameter is one path segment, never several.
    assert not access.is_allowed(
        SAPPORO_TAX, CERTIFICATE, "GET", "/residents/1/household/x/certificate"
    )
    assert not access.is_allowed(NAHA_TAX, CERTIFICATE, *ONE_CERTIFICATE)
    # Another version of the service is another service.
    other_version = ServiceId.of(JUKI, "resident-certificate", "v2")
    assert not access.is_allowed(SAPPORO_TAX, other_version, *ONE_CERTIFICATE)


def test_a_global_group_and_a_local_group_admit_their_subsystems(access: AccessService) -> None:
    access.create_group(
        "municipal-tax", owner=None, description="市町村の税務システム", actor="operator"
    )
    access.add_to_group("municipal-tax", SAPPORO_TAX, owner=None, actor="operator")
    _grant(access, "group:municipal-tax")
    assert access.is_allowed(SAPPORO_TAX, CERTIFICATE, *ONE_HOUSEHOLD)
    assert not access.is_allowed(NAHA_TAX, CERTIFICATE, *ONE_HOUSEHOLD)

    access.create_group("okinawa", owner=CHIYODA, description="沖縄の連携先", actor="chiyoda")
    access.add_to_group("okinawa", NAHA_TAX, owner=CHIYODA, actor="chiyoda")
    _grant(access, "local-group:okinawa", "GET /residents/{addressee_number}/household")
    assert access.is_allowed(NAHA_TAX, CERTIFICATE, *ONE_HOUSEHOLD)
    assert not access.is_allowed(NAHA_TAX, CERTIFICATE, *ONE_CERTIFICATE)
    access.remove_from_group("okinawa", NAHA_TAX, owner=CHIYODA, actor="chiyoda")
    assert not access.is_allowed(NAHA_TAX, CERTIFICATE, *ONE_HOUSEHOLD)


def test_a_revoked_right_allows_nothing_more(access: AccessService, db_session: Session) -> None:
    _grant(access, str(SAPPORO_TAX))
    assert access.is_allowed(SAPPORO_TAX, CERTIFICATE, *ONE_CERTIFICATE)
    access.revoke(CERTIFICATE, Grantee.parse(str(SAPPORO_TAX)), endpoint=Endpoint(), actor="x")
    assert not access.is_allowed(SAPPORO_TAX, CERTIFICATE, *ONE_CERTIFICATE)
    assert access.rights(CERTIFICATE) == []
    actions = db_session.scalars(
        select(AuditEvent.action).where(AuditEvent.subject == f"mesh:{CERTIFICATE}")
    ).all()
    assert actions[-2:] == ["mesh.access.grant", "mesh.access.revoke"]


@pytest.mark.parametrize(
    ("to", "endpoint", "error", "reason"),
    [
        ("JP/LG/131016/nobody", None, RegistrationRefused, "not an approved subsystem"),
        ("group:nobody", None, NotFound, "no group group:nobody"),
        ("local-group:nobody", None, NotFound, "no group JP/LG/131016/local-group:nobody"),
        ("group:Bad_Code", None, RegistrationRefused, "group code 'Bad_Code'"),
        ("JP/LG/011002/tax", "DELETE /residents", RegistrationRefused, "has no operation"),
        ("JP/LG/011002/tax", "fetch everything", RegistrationRefused, "an endpoint is METHOD"),
        ("JP/LG/011002/tax", "GET /" + "a" * 512, RegistrationRefused, "at most 512 characters"),
    ],
)
def test_a_right_needs_a_real_grantee_and_operation(
    access: AccessService, to: str, endpoint: str | None, error: type[Exception], reason: str
) -> None:
    with pytest.raises(error, match=reason):
        _grant(access, to, endpoint)
    assert access.rights(CERTIFICATE) == []


def test_a_right_is_granted_once(access: AccessService) -> None:
    _grant(access, str(SAPPORO_TAX))
    with pytest.raises(RegistrationRefused, match="already"):
        _grant(access, str(SAPPORO_TAX))
