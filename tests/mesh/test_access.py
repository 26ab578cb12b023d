"""Access rights: least privilege, to a subsystem, a global group or a local group, and for
personal data only for the purposes a right names."""

from __future__ import annotations

import re
from collections.abc import Sequence

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kiban.core.audit import AuditEvent
from kiban.core.errors import NotFound
from kiban.mesh.identifiers import MemberId, ServiceId, SubsystemId
from kiban.mesh.policy import Problem
from kiban.mesh.registry.access import AccessService, Endpoint, Grantee
from kiban.mesh.registry.service import RegistrationRefused, RegistryService
from mesh.openapi_support import publish, register

CHIYODA = MemberId.parse("JP/LG/131016")
SAPPORO = MemberId.parse("JP/LG/011002")
NAHA = MemberId.parse("JP/LG/472018")
JUKI = SubsystemId.of(CHIYODA, "juki")
SAPPORO_TAX = SubsystemId.of(SAPPORO, "tax")
NAHA_TAX = SubsystemId.of(NAHA, "tax")
CERTIFICATE = ServiceId.of(JUKI, "resident-certificate", "v1")  # personal data
TOWNS = ServiceId.of(JUKI, "towns")  # no personal data
ONE_CERTIFICATE = ("GET", "/residents/000000012/certificate")
ONE_HOUSEHOLD = ("GET", "/residents/000000012/household")
TAX = "tax-assessment"


@pytest.fixture
def access(db_session: Session) -> AccessService:
    registry = RegistryService(db_session)
    register(registry, (CHIYODA, SAPPORO, NAHA), (JUKI, SAPPORO_TAX, NAHA_TAX), CERTIFICATE)
    publish(registry, TOWNS, personal_data=False)
    return AccessService(db_session)


def _grant(
    access: AccessService,
    to: str,
    endpoint: str | None = None,
    purposes: Sequence[str] = (TAX,),
    service: ServiceId = CERTIFICATE,
) -> None:
    access.grant(
        service,
        Grantee.parse(to),
        endpoint=Endpoint.parse(endpoint),
        actor="chiyoda",
        purposes=purposes,
    )


def _allowed(
    access: AccessService,
    client: SubsystemId,
    call: tuple[str, str],
    service: ServiceId = CERTIFICATE,
    purpose: str | None = TAX,
) -> bool:
    return access.decide(client, service, *call, purpose).allowed


def test_nothing_is_allowed_that_no_right_names(access: AccessService) -> None:
    assert not _allowed(access, SAPPORO_TAX, ONE_CERTIFICATE)
    assert not _allowed(access, JUKI, ONE_CERTIFICATE)  # not even the provider
    denied = access.decide(SAPPORO_TAX, CERTIFICATE, *ONE_CERTIFICATE, TAX)
    assert (denied.problem, denied.personal_data) == (Problem.ACCESS_DENIED, True)
    assert denied.detail == (
        f"no access right lets {SAPPORO_TAX} call GET /residents/000000012/certificate"
        f" of {CERTIFICATE}"
    )


def test_a_right_to_one_operation_allows_that_operation_only(access: AccessService) -> None:
    _grant(access, str(SAPPORO_TAX), "GET /residents/{addressee_number}/certificate")
    assert _allowed(access, SAPPORO_TAX, ONE_CERTIFICATE)
    assert not _allowed(access, SAPPORO_TAX, ONE_HOUSEHOLD)
    assert not _allowed(access, SAPPORO_TAX, ("POST", ONE_CERTIFICATE[1]))
    assert _allowed(access, SAPPORO_TAX, ("get", ONE_CERTIFICATE[1]))  # methods in any case
    # A template parameter is one path segment, never several.
    assert not _allowed(access, SAPPORO_TAX, ("GET", "/residents/1/household/x/certificate"))
    assert not _allowed(access, NAHA_TAX, ONE_CERTIFICATE)
    # Another version of the service is another service.
    other_version = ServiceId.of(JUKI, "resident-certificate", "v2")
    assert not _allowed(access, SAPPORO_TAX, ONE_CERTIFICATE, other_version)
    assert access.decide(SAPPORO_TAX, other_version, *ONE_CERTIFICATE).problem == (
        Problem.UNKNOWN_SERVICE
    )


def test_a_global_group_and_a_local_group_admit_their_subsystems(access: AccessService) -> None:
    access.create_group(
        "municipal-tax", owner=None, description="市町村の税務システム", actor="operator"
    )
    access.add_to_group("municipal-tax", SAPPORO_TAX, owner=None, actor="operator")
    _grant(access, "group:municipal-tax")
    assert _allowed(access, SAPPORO_TAX, ONE_HOUSEHOLD)
    assert not _allowed(access, NAHA_TAX, ONE_HOUSEHOLD)

    access.create_group("okinawa", owner=CHIYODA, description="沖縄の連携先", actor="chiyoda")
    access.add_to_group("okinawa", NAHA_TAX, owner=CHIYODA, actor="chiyoda")
    _grant(access, "local-group:okinawa", "GET /residents/{addressee_number}/household")
    assert _allowed(access, NAHA_TAX, ONE_HOUSEHOLD)
    assert not _allowed(access, NAHA_TAX, ONE_CERTIFICATE)
    access.remove_from_group("okinawa", NAHA_TAX, owner=CHIYODA, actor="chiyoda")
    assert not _allowed(access, NAHA_TAX, ONE_HOUSEHOLD)


def test_another_member_s_local_group_of_the_same_name_admits_nobody(
    access: AccessService,
) -> None:
    access.create_group("partners", owner=CHIYODA, description="連携先", actor="chiyoda")
    access.create_group("partners", owner=NAHA, description="連携先", actor="naha")
    access.add_to_group("partners", SAPPORO_TAX, owner=NAHA, actor="naha")
    _grant(access, "local-group:partners")  # 千代田区's own group, which is empty
    assert not _allowed(access, SAPPORO_TAX, ONE_CERTIFICATE)


def test_a_revoked_right_allows_nothing_more(access: AccessService, db_session: Session) -> None:
    _grant(access, str(SAPPORO_TAX))
    assert _allowed(access, SAPPORO_TAX, ONE_CERTIFICATE)
    access.revoke(CERTIFICATE, Grantee.parse(str(SAPPORO_TAX)), endpoint=Endpoint(), actor="x")
    assert not _allowed(access, SAPPORO_TAX, ONE_CERTIFICATE)
    assert access.rights(CERTIFICATE) == []
    actions = db_session.scalars(
        select(AuditEvent.action).where(AuditEvent.subject == f"mesh:{CERTIFICATE}")
    ).all()
    assert actions[-2:] == ["mesh.access.grant", "mesh.access.revoke"]


def test_a_caller_that_is_not_an_approved_subsystem_is_denied_whatever_the_rights(
    access: AccessService, db_session: Session
) -> None:
    pending = SubsystemId.of(SAPPORO, "welfare")
    RegistryService(db_session).request_subsystem(pending, requested_by="operator")
    _grant(access, str(SAPPORO_TAX))
    decision = access.decide(pending, CERTIFICATE, *ONE_CERTIFICATE, TAX)
    assert (decision.allowed, decision.problem) == (False, Problem.UNKNOWN_CLIENT)
    assert decision.detail == "JP/LG/011002/welfare is not an approved subsystem"


def test_personal_data_is_given_only_for_a_purpose_a_right_names(access: AccessService) -> None:
    _grant(access, str(SAPPORO_TAX), purposes=["child-allowance", TAX, TAX])
    _grant(access, str(SAPPORO_TAX), "GET /residents/{addressee_number}/household", ["welfare"])
    assert [right.purposes for right in access.rights(CERTIFICATE)] == [
        "child-allowance tax-assessment",  # each once, sorted
        "welfare",
    ]
    assert _allowed(access, SAPPORO_TAX, ONE_CERTIFICATE, purpose="child-allowance")
    # A purpose of any right that covers the call will do.
    assert _allowed(access, SAPPORO_TAX, ONE_HOUSEHOLD, purpose="welfare")
    assert _allowed(access, SAPPORO_TAX, ONE_HOUSEHOLD, purpose=TAX)
    refused = access.decide(SAPPORO_TAX, CERTIFICATE, *ONE_CERTIFICATE, "welfare")
    assert (refused.problem, refused.personal_data) == (Problem.PURPOSE_NOT_ALLOWED, True)
    assert refused.detail.endswith(f"of {CERTIFICATE} for welfare")
    for missing in (None, ""):
        decision = access.decide(SAPPORO_TAX, CERTIFICATE, *ONE_CERTIFICATE, missing)
        assert decision.problem == Problem.PURPOSE_REQUIRED
        assert decision.detail == f"{CERTIFICATE} carries personal data: name the purpose"
    # Without a right, no purpose is asked for: the caller is simply denied.
    assert access.decide(NAHA_TAX, CERTIFICATE, *ONE_CERTIFICATE).problem == Problem.ACCESS_DENIED


def test_a_service_without_personal_data_asks_no_purpose(access: AccessService) -> None:
    with pytest.raises(RegistrationRefused, match="carries no personal data"):
        _grant(access, str(SAPPORO_TAX), service=TOWNS)
    _grant(access, str(SAPPORO_TAX), service=TOWNS, purposes=())
    for purpose in (None, "anything"):
        decision = access.decide(SAPPORO_TAX, TOWNS, *ONE_HOUSEHOLD, purpose)
        assert (decision.allowed, decision.problem, decision.personal_data) == (True, None, False)
        assert decision.detail == (
            f"a right lets {SAPPORO_TAX} call GET /residents/000000012/household of {TOWNS}"
        )


def test_granting_a_right_again_with_other_purposes_replaces_them(
    access: AccessService, db_session: Session
) -> None:
    _grant(access, str(SAPPORO_TAX))
    with pytest.raises(RegistrationRefused, match="already"):
        _grant(access, str(SAPPORO_TAX))
    _grant(access, str(SAPPORO_TAX), purposes=["welfare"])
    assert [right.purposes for right in access.rights(CERTIFICATE)] == ["welfare"]
    assert not _allowed(access, SAPPORO_TAX, ONE_CERTIFICATE, purpose=TAX)
    details = db_session.scalars(
        select(AuditEvent.details).where(
            AuditEvent.subject == f"mesh:{CERTIFICATE}", AuditEvent.action == "mesh.access.grant"
        )
    ).all()
    assert [detail["purposes"] for detail in details] == [TAX, "welfare"]


@pytest.mark.parametrize(
    ("to", "endpoint", "purposes", "error", "reason"),
    [
        ("JP/LG/131016/nobody", None, [TAX], RegistrationRefused, "not an approved subsystem"),
        ("group:nobody", None, [TAX], NotFound, "no group group:nobody"),
        ("local-group:nobody", None, [TAX], NotFound, "no group JP/LG/131016/local-group:nobody"),
        ("group:Bad_Code", None, [TAX], RegistrationRefused, "group code 'Bad_Code'"),
        ("JP/LG/011002/tax", "DELETE /residents", [TAX], RegistrationRefused, "has no operation"),
        ("JP/LG/011002/tax", "fetch everything", [TAX], RegistrationRefused, "an endpoint is"),
        ("JP/LG/011002/tax", "GET /" + "a" * 512, [TAX], RegistrationRefused, "at most 512"),
        ("JP/LG/011002/tax", None, [], RegistrationRefused, "names its purposes (--purpose)"),
        ("JP/LG/011002/tax", None, ["Tax"], RegistrationRefused, "purpose code 'Tax'"),
        ("JP/LG/011002/tax", None, [TAX, ""], RegistrationRefused, "purpose code ''"),
    ],
)
def test_a_right_needs_a_real_grantee_operation_and_purposes(
    access: AccessService,
    to: str,
    endpoint: str | None,
    purposes: list[str],
    error: type[Exception],
    reason: str,
) -> None:
    with pytest.raises(error, match=re.escape(reason)):
        _grant(access, to, endpoint, purposes)
    assert access.rights(CERTIFICATE) == []
