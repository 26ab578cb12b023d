"""The central registry: an organisation asks to join the mesh, the registry operator decides.

A member is registered under the code that identifies it already: a local government must
be one of the local-government registry, a company one of the corporation registry that is
still open.  National agencies and quasi-public bodies are named by whoever asks, since the
corporation registry kiban ships holds neither.  A subsystem is asked for by its member, and
approved only once the member is.  A rejected request may be made again; every request and
decision is an audit event.  An approved member registers where its gateways are reached.
An approved subsystem publishes its services, each with an OpenAPI document, without the
operator: who may call them is the provider's decision.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TypeVar

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy.orm import Session

from kiban.core.audit import AuditDetail, AuditOutcome, record_audit
from kiban.core.config import Settings
from kiban.core.errors import NotFound, ProblemError
from kiban.identity.ca.authority import load_authority
from kiban.identity.ca.service import CertificateAuthorityService, Issued
from kiban.mesh.identifiers import MemberClass, MemberId, ServiceId, SubsystemId
from kiban.mesh.openapi import InvalidOpenAPI, as_json, read_openapi
from kiban.mesh.registry.gateways import InvalidGatewayAddress, gateway_address
from kiban.mesh.registry.models import (
    MeshGateway,
    MeshMember,
    MeshService,
    MeshSubsystem,
    RegistrationStatus,
)
from kiban.mesh.registry.repository import RegistryRepository

Registration = TypeVar("Registration", MeshMember, MeshSubsystem)

NAME_MAX_LENGTH = 256
REASON_MAX_LENGTH = 500


def record_registry_change(
    session: Session,
    action: str,
    actor: str,
    identifier: str,
    details: Mapping[str, AuditDetail] | None = None,
    *,
    now: datetime | None = None,
) -> None:
    """An audit event about a registry entry, named ``mesh:{identifier}``."""
    record_audit(
        session,
        action,
        AuditOutcome.SUCCESS,
        actor=actor,
        subject=f"mesh:{identifier}",
        details=details,
        now=now,
    )


class RegistrationRefused(ProblemError):
    def __init__(self, detail: str) -> None:
        super().__init__(
            409, "mesh-registration-refused", "登録できません / Not registered", detail
        )


class RegistryService:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.repository = RegistryRepository(session)

    # Members ----------------------------------------------------------------------------

    def request_member(
        self, member: MemberId, *, requested_by: str, name: str | None = None
    ) -> MeshMember:
        """Ask for ``member`` to join; pending until the registry operator decides."""
        now = datetime.now(UTC)
        known = self.repository.member(member)
        if known is not None and known.status != RegistrationStatus.REJECTED:
            raise RegistrationRefused(f"{member} is already {_status_label(known.status)}")
        registered_name = self._name_of(member, name)
        if known is None:
            known = MeshMember(member_class=member.member_class.value, member_code=member.code)
        known.name = registered_name
        _reopen(known, requested_by, now)
        self.repository.add(known)
        self._audit("mesh.member.request", requested_by, str(member), now)
        return known

    def approve_member(self, member: MemberId, *, operator: str) -> MeshMember:
        return self._decide(self._pending_member(member), str(member), operator, None)

    def reject_member(self, member: MemberId, *, operator: str, reason: str) -> MeshMember:
        return self._decide(self._pending_member(member), str(member), operator, reason)

    def members(self, status: RegistrationStatus | None = None) -> Sequence[MeshMember]:
        return self.repository.members(status)

    def issue_certificate(
        self, member: MemberId, public_key_pem: bytes, *, settings: Settings, actor: str
    ) -> Issued:
        """An organisation certificate from kiban's CA for an approved member's gateway key
        (P-256), with the member's identifier as its common name."""
        known = self._approved_member(member)
        try:
            public_key = serialization.load_pem_public_key(public_key_pem)
        except (ValueError, TypeError):
            raise RegistrationRefused("the public key is not a PEM public key") from None
        if not isinstance(public_key, ec.EllipticCurvePublicKey) or not isinstance(
            public_key.curve, ec.SECP256R1
        ):
            raise RegistrationRefused("a gateway's key is an EC P-256 key")
        return CertificateAuthorityService(self.session, settings).issue_organisation_certificate(
            str(member), known.name, public_key, actor=actor
        )

    def add_gateway(self, member: MemberId, address: str, *, actor: str) -> MeshGateway:
        """Register an address where one of an approved member's gateways is reached."""
        now = datetime.now(UTC)
        address = _gateway_address(address)
        self._approved_member(member)
        if self.repository.gateway(member, address) is not None:
            raise RegistrationRefused(f"{address} is a gateway of {member} already")
        gateway = MeshGateway(
            member_class=member.member_class.value,
            member_code=member.code,
            address=address,
            registered_at=now,
            registered_by=actor,
        )
        self.repository.add(gateway)
        record_registry_change(
            self.session, "mesh.gateway.add", actor, str(member), {"address": address}, now=now
        )
        return gateway

    def remove_gateway(self, member: MemberId, address: str, *, actor: str) -> None:
        address = _gateway_address(address)
        gateway = self.repository.gateway(member, address)
        if gateway is None:
            raise NotFound(f"{address} is not a gateway of {member}")
        self.repository.delete(gateway)
        record_registry_change(
            self.session, "mesh.gateway.remove", actor, str(member), {"address": address}
        )

    def gateways(self, member: MemberId | None = None) -> Sequence[MeshGateway]:
        return self.repository.gateways(member)

    def authority_chain_pem(self) -> bytes:
        """The issuing CA and the root, as a gateway sends them after its certificate."""
        return load_authority(self.session).chain_pem()

    # Subsystems -------------------------------------------------------------------------

    def request_subsystem(self, subsystem: SubsystemId, *, requested_by: str) -> MeshSubsystem:
        """Ask for a subsystem of a member that has asked to join, or has joined."""
        now = datetime.now(UTC)
        member = self.repository.member(subsystem.member)
        if member is None or member.status == RegistrationStatus.REJECTED:
            raise RegistrationRefused(
                f"{subsystem.member} has not asked to join the mesh: request the member first"
            )
        known = self.repository.subsystem(subsystem)
        if known is not None and known.status != RegistrationStatus.REJECTED:
            raise RegistrationRefused(f"{subsystem} is already {_status_label(known.status)}")
        if known is None:
            known = MeshSubsystem(
                member_class=subsystem.member.member_class.value,
                member_code=subsystem.member.code,
                subsystem_code=subsystem.code,
            )
        _reopen(known, requested_by, now)
        self.repository.add(known)
        self._audit("mesh.subsystem.request", requested_by, str(subsystem), now)
        return known

    def approve_subsystem(self, subsystem: SubsystemId, *, operator: str) -> MeshSubsystem:
        pending = self._pending_subsystem(subsystem)
        member = self.repository.member(subsystem.member)
        if member is None or member.status != RegistrationStatus.APPROVED:
            raise RegistrationRefused(
                f"{subsystem.member} is not an approved member yet: approve the member first"
            )
        return self._decide(pending, str(subsystem), operator, None)

    def reject_subsystem(
        self, subsystem: SubsystemId, *, operator: str, reason: str
    ) -> MeshSubsystem:
        return self._decide(self._pending_subsystem(subsystem), str(subsystem), operator, reason)

    def subsystems(
        self, member: MemberId | None = None, status: RegistrationStatus | None = None
    ) -> Sequence[MeshSubsystem]:
        return self.repository.subsystems(member, status)

    # Services ---------------------------------------------------------------------------

    def publish_service(
        self,
        service: ServiceId,
        *,
        title: str,
        openapi: str,
        personal_data: bool,
        published_by: str,
    ) -> MeshService:
        """Publish a service of an approved subsystem, or a new description of it.

        ``openapi`` is its OpenAPI 3 document, JSON or YAML, checked before anything is kept.
        """
        now = datetime.now(UTC)
        title = title.strip()
        if not title or len(title) > NAME_MAX_LENGTH:
            raise RegistrationRefused(
                f"a service needs a title of at most {NAME_MAX_LENGTH} characters"
            )
        try:
            document = read_openapi(openapi)
        except InvalidOpenAPI as error:
            raise RegistrationRefused(f"the OpenAPI document: {error}") from None
        subsystem = self.repository.subsystem(service.subsystem)
        if subsystem is None or subsystem.status != RegistrationStatus.APPROVED:
            raise RegistrationRefused(
                f"{service.subsystem} is not an approved subsystem: it cannot provide services"
            )
        published = self.repository.service(service)
        if published is None:
            published = MeshService(
                member_class=service.subsystem.member.member_class.value,
                member_code=service.subsystem.member.code,
                subsystem_code=service.subsystem.code,
                service_code=service.code,
                version=service.version or "",
            )
        published.title = title
        published.personal_data = personal_data
        published.openapi = as_json(document)
        published.published_at = now
        published.published_by = published_by
        self.repository.add(published)
        self._audit("mesh.service.publish", published_by, str(service), now)
        return published

    def service(self, service: ServiceId) -> MeshService:
        published = self.repository.service(service)
        if published is None:
            raise NotFound(f"{service} is not published")
        return published

    def services(self, subsystem: SubsystemId | None = None) -> Sequence[MeshService]:
        return self.repository.services(subsystem)

    # ------------------------------------------------------------------------------------

    def _name_of(self, member: MemberId, name: str | None) -> str:
        given = (name or "").strip()
        if len(given) > NAME_MAX_LENGTH:
            raise RegistrationRefused(f"a name is at most {NAME_MAX_LENGTH} characters")
        if member.member_class is MemberClass.LG:
            government = self.repository.local_government(member.code)
            if government is None:
                raise NotFound(f"No local government has the code {member.code}")
            return government.name
        if member.member_class is MemberClass.COM:
            corporation = self.repository.corporation(member.code)
            if corporation is None:
                raise NotFound(f"No corporation has the number {member.code}")
            if corporation.closed_on is not None:
                raise RegistrationRefused(
                    f"the corporation {member.code} closed its registration on"
                    f" {corporation.closed_on.isoformat()}"
                )
            return corporation.name
        if not given:
            raise RegistrationRefused(
                f"a {member.member_class.label} member needs its name (--name)"
            )
        return given

    def _approved_member(self, member: MemberId) -> MeshMember:
        known = self.repository.member(member)
        if known is None or known.status != RegistrationStatus.APPROVED:
            raise RegistrationRefused(f"{member} is not an approved member")
        return known

    def _pending_member(self, member: MemberId) -> MeshMember:
        known = self.repository.member(member)
        if known is None:
            raise NotFound(f"{member} has not asked to join the mesh")
        return _pending(known, str(member))

    def _pending_subsystem(self, subsystem: SubsystemId) -> MeshSubsystem:
        known = self.repository.subsystem(subsystem)
        if known is None:
            raise NotFound(f"{subsystem} has not been requested")
        return _pending(known, str(subsystem))

    def _decide(
        self, registration: Registration, identifier: str, operator: str, reason: str | None
    ) -> Registration:
        """Approve (no reason) or reject (with one) a pending registration."""
        now = datetime.now(UTC)
        if reason is not None:
            reason = reason.strip()
            if not reason or len(reason) > REASON_MAX_LENGTH:
                raise RegistrationRefused(
                    f"a rejection needs its reason, at most {REASON_MAX_LENGTH} characters"
                )
        registration.status = (
            RegistrationStatus.APPROVED if reason is None else RegistrationStatus.REJECTED
        ).value
        registration.decided_at = now
        registration.decided_by = operator
        registration.decision_reason = reason
        self.session.flush()
        kind = "member" if isinstance(registration, MeshMember) else "subsystem"
        verdict = "approve" if reason is None else "reject"
        self._audit(f"mesh.{kind}.{verdict}", operator, identifier, now)
        return registration

    def _audit(self, action: str, actor: str, identifier: str, now: datetime) -> None:
        record_registry_change(self.session, action, actor, identifier, now=now)


def _status_label(status: str) -> str:
    return {
        RegistrationStatus.PENDING: "waiting for the registry operator's decision",
        RegistrationStatus.APPROVED: "registered",
        RegistrationStatus.REJECTED: "rejected",
    }[RegistrationStatus(status)]


def _gateway_address(text: str) -> str:
    try:
        return gateway_address(text)
    except InvalidGatewayAddress as error:
        raise RegistrationRefused(str(error)) from None


def _reopen(registration: MeshMember | MeshSubsystem, requested_by: str, now: datetime) -> None:
    registration.status = RegistrationStatus.PENDING.value
    registration.requested_at = now
    registration.requested_by = requested_by
    registration.decided_at = None
    registration.decided_by = None
    registration.decision_reason = None


def _pending(registration: Registration, identifier: str) -> Registration:
    if registration.status != RegistrationStatus.PENDING:
        raise RegistrationRefused(
            f"{identifier} is {_status_label(registration.status)}, not waiting for a decision"
        )
    return registration
