"""A gateway's decisions on the configuration are the registry's decisions on its database."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from identity.ca.ca_support import authority
from kiban.core.config import Settings
from kiban.identity.ca.authority import Authority
from kiban.mesh.configuration import ConfigurationRejected, configuration_content
from kiban.mesh.identifiers import MemberId, ServiceId, SubsystemId
from kiban.mesh.policy import AccessPolicy, Decision, Problem, ServiceInfo
from kiban.mesh.registry.access import AccessService, Endpoint, Grantee
from kiban.mesh.registry.service import RegistryService
from mesh.openapi_support import publish, register

__all__ = ["authority"]  # the CA, as a fixture

CHIYODA = MemberId.parse("JP/LG/131016")
SAPPORO = MemberId.parse("JP/LG/011002")
NAHA = MemberId.parse("JP/LG/472018")
JUKI = SubsystemId.of(CHIYODA, "juki")
CHIYODA_TAX = SubsystemId.of(CHIYODA, "tax")
SAPPORO_TAX = SubsystemId.of(SAPPORO, "tax")
NAHA_TAX = SubsystemId.of(NAHA, "tax")
APPROVED = (JUKI, CHIYODA_TAX, SAPPORO_TAX, NAHA_TAX)
PENDING = SubsystemId.of(SAPPORO, "welfare")
UNKNOWN = SubsystemId.of(NAHA, "juki")
CERTIFICATE = ServiceId.of(JUKI, "resident-certificate", "v1")  # personal data
TOWNS = ServiceId.of(JUKI, "towns")  # no personal data
UNPUBLISHED = ServiceId.of(JUKI, "household")
# Groups as (owner, code): a global one, and two local ones of the same name.
GROUPS = ((None, "municipal-tax"), (CHIYODA, "partners"), (NAHA, "partners"))
GRANTEES = (
    *(str(subsystem) for subsystem in APPROVED),
    "group:municipal-tax",
    "local-group:partners",
)
ENDPOINTS = (
    None,
    "GET /residents/{addressee_number}/certificate",
    "GET /residents/{addressee_number}/household",
)
PURPOSES = ("tax-assessment", "child-allowance", "welfare")
PATHS = (
    "/residents/000000012/certificate",
    "/residents/000000012/household",
    "/residents/1/household/x/certificate",
    "/residents//certificate",
    "/towns",
)


@pytest.fixture
def access(db_session: Session) -> AccessService:
    registry = RegistryService(db_session)
    register(registry, (CHIYODA, SAPPORO, NAHA), APPROVED, CERTIFICATE)
    publish(registry, TOWNS, personal_data=False)
    registry.request_subsystem(PENDING, requested_by="operator")
    access = AccessService(db_session)
    for owner, code in GROUPS:
        access.create_group(code, owner=owner, description="試験", actor="operator")
    return access


def _policy(session: Session) -> AccessPolicy:
    """The policy a gateway builds: from the content as it travels, JSON."""
    content = configuration_content(session, datetime.now(UTC))
    return AccessPolicy.from_configuration(json.loads(json.dumps(content)))


grants = st.lists(
    st.tuples(
        st.sampled_from((CERTIFICATE, TOWNS)),
        st.sampled_from(GRANTEES),
        st.sampled_from(ENDPOINTS),
        st.sets(st.sampled_from(PURPOSES), min_size=1),
    ),
    max_size=6,
)
calls = st.lists(
    st.tuples(
        st.sampled_from((*APPROVED, PENDING, UNKNOWN)),
        st.sampled_from((CERTIFICATE, TOWNS, UNPUBLISHED)),
        st.sampled_from(("GET", "get", "POST")),
        st.sampled_from(PATHS),
        st.sampled_from((None, "", *PURPOSES, "Bad\npurpose")),
    ),
    min_size=1,
    max_size=12,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    members=st.tuples(*(st.sets(st.sampled_from(APPROVED)) for _ in GROUPS)),
    granted=grants,
    made=calls,
)
def test_the_gateway_decides_as_the_registry(
    access: AccessService,
    db_session: Session,
    members: tuple[set[SubsystemId], ...],
    granted: list[tuple[ServiceId, str, str | None, set[str]]],
    made: list[tuple[SubsystemId, ServiceId, str, str, str | None]],
) -> None:
    example = db_session.begin_nested()
    try:
        for (owner, code), subsystems in zip(GROUPS, members, strict=True):
            for subsystem in sorted(subsystems):
                access.add_to_group(code, subsystem, owner=owner, actor="operator")
        rights = {
            (service, to, endpoint): () if service == TOWNS else purposes
            for service, to, endpoint, purposes in granted
        }
        for (service, to, endpoint), purposes in rights.items():
            access.grant(
                service,
                Grantee.parse(to),
                endpoint=Endpoint.parse(endpoint),
                actor="operator",
                purposes=purposes,
            )
        policy = _policy(db_session)
        for call in made:
            assert access.decide(*call) == policy.decide(*call), call
    finally:
        example.rollback()


def test_each_refusal_says_why(access: AccessService, db_session: Session) -> None:
    access.add_to_group("partners", SAPPORO_TAX, owner=CHIYODA, actor="operator")
    access.grant(
        CERTIFICATE,
        Grantee.parse("local-group:partners"),
        endpoint=Endpoint.parse("GET /residents/{addressee_number}/certificate"),
        actor="operator",
        purposes=["tax-assessment"],
    )
    policy = _policy(db_session)
    certificate = ("GET", "/residents/000000012/certificate")

    def decide(client: SubsystemId, service: ServiceId, purpose: str | None) -> Decision:
        return policy.decide(client, service, *certificate, purpose)

    assert decide(SAPPORO_TAX, CERTIFICATE, "tax-assessment") == Decision(
        True,
        None,
        f"a right lets {SAPPORO_TAX} call GET /residents/000000012/certificate of {CERTIFICATE}"
        " for tax-assessment",
        True,
    )
    assert [
        (decision.problem, decision.personal_data)
        for decision in (
            decide(SAPPORO_TAX, UNPUBLISHED, "tax-assessment"),
            decide(PENDING, CERTIFICATE, "tax-assessment"),
            decide(NAHA_TAX, CERTIFICATE, "tax-assessment"),
            decide(SAPPORO_TAX, CERTIFICATE, None),
            decide(SAPPORO_TAX, CERTIFICATE, "welfare"),
        )
    ] == [
        (Problem.UNKNOWN_SERVICE, False),
        (Problem.UNKNOWN_CLIENT, True),
        (Problem.ACCESS_DENIED, True),
        (Problem.PURPOSE_REQUIRED, True),
        (Problem.PURPOSE_NOT_ALLOWED, True),
    ]
    assert decide(SAPPORO_TAX, UNPUBLISHED, None).problem == "unknown-service"  # a plain slug
    # What the caller sent stays on one line in the detail.
    odd = policy.decide(SAPPORO_TAX, CERTIFICATE, "GET", "/residents/1\n/certificate", "a\r\nb")
    assert "\n" not in odd.detail
    assert "'/residents/1\\n/certificate'" in odd.detail


def test_the_policy_knows_the_mesh_a_gateway_talks_to(
    access: AccessService, db_session: Session, settings: Settings, authority: Authority
) -> None:
    registry = RegistryService(db_session)
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    issued = registry.issue_certificate(
        CHIYODA,
        key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        settings=settings,
        actor="operator",
    )
    registry.add_gateway(CHIYODA, "https://127.0.0.1:5501", actor="operator")
    registry.add_gateway(CHIYODA, "https://[::1]:5501", actor="operator")
    policy = _policy(db_session)
    der = issued.certificate.public_bytes(serialization.Encoding.DER)
    assert policy.gateway_addresses(CHIYODA) == ["https://127.0.0.1:5501", "https://[::1]:5501"]
    assert policy.gateway_addresses(SAPPORO) == []
    [held] = policy.certificates_of(CHIYODA)
    assert (held.member, held.serial, held.der) == (CHIYODA, issued.record.serial_number, der)
    assert held.certificate == issued.certificate
    assert policy.certificates_of(NAHA) == []
    assert policy.certificate(issued.record.serial_number.upper()) == held
    assert policy.member_of_certificate(der) == CHIYODA
    issuing = authority.issuing.public_bytes(serialization.Encoding.DER)
    assert policy.member_of_certificate(issuing) is None  # under the root, but no member's
    assert policy.member_of_certificate(b"not one") is None
    assert policy.is_approved_member(CHIYODA)
    assert not policy.is_approved_member(MemberId.parse("JP/LG/271004"))
    assert policy.is_approved_subsystem(JUKI)
    assert not policy.is_approved_subsystem(PENDING)
    assert policy.service(CERTIFICATE) == ServiceInfo(CERTIFICATE, "住民票情報", True)
    assert policy.service(UNPUBLISHED) is None


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ({"instance": "JP"}, "missing 'rights'"),
        (
            {"rights": [{"service": "JP/LG/131017/juki/x"}]},
            "check digit is 7, expected 6",
        ),
    ],
)
def test_a_configuration_it_cannot_read_is_refused_on_one_line(
    content: dict[str, Any], reason: str
) -> None:
    with pytest.raises(ConfigurationRejected, match=reason) as refused:
        AccessPolicy.from_configuration(content)
    assert "\n" not in str(refused.value)
