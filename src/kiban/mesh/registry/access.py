"""Access rights: which subsystems may call a service, or one of its operations.

A provider grants a right to a subsystem, to a global group (defined by the registry
operator, e.g. every municipality's tax system) or to one of its own local groups.  A right
covers the whole service (``*``) or one operation of its OpenAPI document
(``GET /residents/{addressee_number}/certificate``).  A right to a service with personal data
names the purposes the grantee may call it for (``tax-assessment``): at least one, since
personal data is used only for a purpose said beforehand; other services' rights name none.
:meth:`AccessService.decide` is the decision a provider's gateway takes on every request
(:mod:`kiban.mesh.policy`), taken from the database: least privilege, nothing allowed that
no right names, and only for an approved subsystem.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from kiban.core.errors import NotFound
from kiban.mesh.identifiers import (
    InvalidMeshIdentifier,
    MemberId,
    ServiceId,
    SubsystemId,
    chosen_code,
)
from kiban.mesh.openapi import HTTP_METHODS, operations
from kiban.mesh.policy import WHOLE_SERVICE, Decision, Right, ServiceInfo, judge
from kiban.mesh.registry.models import (
    GrantedTo,
    MeshAccessRight,
    MeshGroup,
    MeshGroupMember,
    MeshService,
    RegistrationStatus,
    service_id_of,
)
from kiban.mesh.registry.repository import RegistryRepository
from kiban.mesh.registry.service import (
    NAME_MAX_LENGTH,
    RegistrationRefused,
    record_registry_change,
)

GLOBAL_GROUP = "group:"  # group:municipal-tax
LOCAL_GROUP = "local-group:"  # local-group:partners, the provider's own
MAX_PATH_LENGTH = 512  # mesh_access_rights.path


@dataclass(frozen=True, slots=True)
class Endpoint:
    """The whole service, or one operation: ``METHOD /path/{template}``."""

    method: str = WHOLE_SERVICE
    path: str = WHOLE_SERVICE

    @classmethod
    def parse(cls, text: str | None) -> Endpoint:
        if text is None or text.strip() in ("", WHOLE_SERVICE):
            return cls()
        method, _, path = text.strip().partition(" ")
        if len(path) > MAX_PATH_LENGTH:
            raise RegistrationRefused(f"an endpoint's path is at most {MAX_PATH_LENGTH} characters")
        if method.lower() not in HTTP_METHODS or not path.strip().startswith("/"):
            raise RegistrationRefused(
                f"an endpoint is METHOD /path, e.g. 'GET /residents/{{id}}', not {text!r}"
            )
        return cls(method.upper(), path.strip())

    def __str__(self) -> str:
        return WHOLE_SERVICE if self.method == WHOLE_SERVICE else f"{self.method} {self.path}"


@dataclass(frozen=True, slots=True)
class Grantee:
    """Whom a right is granted to: ``JP/…/{subsystem}``, ``group:CODE`` or ``local-group:CODE``."""

    kind: GrantedTo
    subject: str

    @classmethod
    def parse(cls, text: str) -> Grantee:
        text = text.strip()
        try:
            if text.startswith(GLOBAL_GROUP):
                return cls(GrantedTo.GLOBAL_GROUP, chosen_code("group", text[len(GLOBAL_GROUP) :]))
            if text.startswith(LOCAL_GROUP):
                return cls(GrantedTo.LOCAL_GROUP, chosen_code("group", text[len(LOCAL_GROUP) :]))
            return cls(GrantedTo.SUBSYSTEM, str(SubsystemId.parse(text)))
        except InvalidMeshIdentifier as error:
            raise RegistrationRefused(str(error)) from None

    def __str__(self) -> str:
        prefix = {
            GrantedTo.SUBSYSTEM: "",
            GrantedTo.GLOBAL_GROUP: GLOBAL_GROUP,
            GrantedTo.LOCAL_GROUP: LOCAL_GROUP,
        }[self.kind]
        return prefix + self.subject


_NO_OWNER = ("", "")  # a global group's owner columns


def _owner(owner: MemberId | None) -> tuple[str, str]:
    return _NO_OWNER if owner is None else (owner.member_class.value, owner.code)


class AccessService:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.repository = RegistryRepository(session)

    # Groups -----------------------------------------------------------------------------

    def create_group(
        self, code: str, *, owner: MemberId | None, description: str, actor: str
    ) -> MeshGroup:
        """A global group (no owner, the registry operator's) or a member's local group."""
        code = self._group_code(code)
        description = description.strip()
        if not description or len(description) > NAME_MAX_LENGTH:
            raise RegistrationRefused(
                f"a group needs a description of at most {NAME_MAX_LENGTH} characters"
            )
        if owner is not None:
            member = self.repository.member(owner)
            if member is None or member.status != RegistrationStatus.APPROVED:
                raise RegistrationRefused(f"{owner} is not an approved member")
        owner_class, owner_code = _owner(owner)
        if self.repository.group(owner_class, owner_code, code) is not None:
            raise RegistrationRefused(f"the group {code} exists already")
        group = MeshGroup(
            owner_class=owner_class,
            owner_code=owner_code,
            group_code=code,
            description=description,
            created_at=datetime.now(UTC),
        )
        self.repository.add(group)
        self._audit("mesh.group.create", actor, _group_name(code, owner))
        return group

    def add_to_group(
        self, code: str, subsystem: SubsystemId, *, owner: MemberId | None, actor: str
    ) -> None:
        group = self._group(code, owner)
        self._approved(subsystem)
        if self.repository.group_member(group, subsystem) is not None:
            raise RegistrationRefused(f"{subsystem} is in the group {code} already")
        self.repository.add(
            MeshGroupMember(
                owner_class=group.owner_class,
                owner_code=group.owner_code,
                group_code=group.group_code,
                member_class=subsystem.member.member_class.value,
                member_code=subsystem.member.code,
                subsystem_code=subsystem.code,
                added_at=datetime.now(UTC),
            )
        )
        self._audit(
            "mesh.group.add", actor, _group_name(code, owner), {"subsystem": str(subsystem)}
        )

    def remove_from_group(
        self, code: str, subsystem: SubsystemId, *, owner: MemberId | None, actor: str
    ) -> None:
        group = self._group(code, owner)
        row = self.repository.group_member(group, subsystem)
        if row is None:
            raise NotFound(f"{subsystem} is not in the group {code}")
        self.repository.delete(row)
        self._audit(
            "mesh.group.remove", actor, _group_name(code, owner), {"subsystem": str(subsystem)}
        )

    def group_subsystems(self, code: str, *, owner: MemberId | None) -> list[SubsystemId]:
        return self.repository.group_subsystems(self._group(code, owner))

    # Rights -----------------------------------------------------------------------------

    def grant(
        self,
        service: ServiceId,
        grantee: Grantee,
        *,
        endpoint: Endpoint,
        actor: str,
        purposes: Collection[str] = (),
    ) -> MeshAccessRight:
        """Let ``grantee`` call ``endpoint`` of ``service``; for a service with personal data,
        for ``purposes`` only (at least one).  Granting an existing right again with other
        purposes replaces them."""
        published = self.repository.service(service)
        if published is None:
            raise NotFound(f"{service} is not published")
        if endpoint.method != WHOLE_SERVICE and (endpoint.method, endpoint.path) not in operations(
            json.loads(published.openapi)
        ):
            raise RegistrationRefused(f"{service} has no operation {endpoint}")
        codes = " ".join(_purpose_codes(purposes))
        if published.personal_data and not codes:
            raise RegistrationRefused(
                f"{service} carries personal data: a right to it names its purposes (--purpose)"
            )
        if codes and not published.personal_data:
            raise RegistrationRefused(
                f"{service} carries no personal data: its rights have no purposes"
            )
        self._grantee_exists(grantee, service.subsystem.member)
        key = self._right_key(service, grantee, endpoint)
        right = self.repository.right(key)
        if right is not None and right.purposes == codes:
            raise RegistrationRefused(f"{grantee} may call {endpoint} of {service} already")
        if right is None:
            right = MeshAccessRight(**dict(zip(_RIGHT_COLUMNS, key, strict=True)))
        right.purposes = codes
        right.granted_at = datetime.now(UTC)
        right.granted_by = actor
        self.repository.add(right)
        self._audit(
            "mesh.access.grant",
            actor,
            str(service),
            {"to": str(grantee), "endpoint": str(endpoint), "purposes": codes},
        )
        return right

    def revoke(
        self, service: ServiceId, grantee: Grantee, *, endpoint: Endpoint, actor: str
    ) -> None:
        right = self.repository.right(self._right_key(service, grantee, endpoint))
        if right is None:
            raise NotFound(f"{grantee} has no right to {endpoint} of {service}")
        self.repository.delete(right)
        self._audit(
            "mesh.access.revoke",
            actor,
            str(service),
            {"to": str(grantee), "endpoint": str(endpoint)},
        )

    def rights(self, service: ServiceId) -> Sequence[MeshAccessRight]:
        return self.repository.rights(service)

    def decide(
        self,
        client: SubsystemId,
        service: ServiceId,
        method: str,
        path: str,
        purpose: str | None = None,
    ) -> Decision:
        """Whether ``client`` may call ``METHOD path`` of ``service`` for ``purpose``: the
        decision the provider's gateway takes on the configuration, from the database."""
        published = self.repository.service(service)
        subsystem = self.repository.subsystem(client)
        return judge(
            client=client,
            service=service,
            method=method,
            path=path,
            purpose=purpose,
            published=None if published is None else _service_info(published),
            client_approved=subsystem is not None
            and subsystem.status == RegistrationStatus.APPROVED,
            rights=[_right_of(row) for row in self.repository.rights(service)],
            in_group=lambda owner, code: self.repository.in_group(_owner(owner), code, client),
        )

    # ------------------------------------------------------------------------------------

    def _group_code(self, code: str) -> str:
        try:
            return chosen_code("group", code)
        except InvalidMeshIdentifier as error:
            raise RegistrationRefused(str(error)) from None

    def _group(self, code: str, owner: MemberId | None) -> MeshGroup:
        group = self.repository.group(*_owner(owner), self._group_code(code))
        if group is None:
            raise NotFound(f"no group {_group_name(code, owner)}")
        return group

    def _approved(self, subsystem: SubsystemId) -> None:
        known = self.repository.subsystem(subsystem)
        if known is None or known.status != RegistrationStatus.APPROVED:
            raise RegistrationRefused(f"{subsystem} is not an approved subsystem")

    def _grantee_exists(self, grantee: Grantee, provider: MemberId) -> None:
        if grantee.kind == GrantedTo.SUBSYSTEM:
            self._approved(SubsystemId.parse(grantee.subject))
        else:
            self._group(
                grantee.subject, provider if grantee.kind == GrantedTo.LOCAL_GROUP else None
            )

    @staticmethod
    def _right_key(service: ServiceId, grantee: Grantee, endpoint: Endpoint) -> tuple[str, ...]:
        member = service.subsystem.member
        return (
            member.member_class.value,
            member.code,
            service.subsystem.code,
            service.code,
            service.version or "",
            endpoint.method,
            endpoint.path,
            grantee.kind.value,
            grantee.subject,
        )

    def _audit(
        self, action: str, actor: str, subject: str, details: dict[str, str] | None = None
    ) -> None:
        record_registry_change(self.session, action, actor, subject, details)


_RIGHT_COLUMNS = (
    "member_class",
    "member_code",
    "subsystem_code",
    "service_code",
    "version",
    "method",
    "path",
    "granted_to",
    "subject",
)


def _right_of(row: MeshAccessRight) -> Right:
    return Right(
        row.method,
        row.path,
        GrantedTo(row.granted_to),
        row.subject,
        frozenset(row.purposes.split()),
    )


def _service_info(row: MeshService) -> ServiceInfo:
    return ServiceInfo(service_id_of(row), row.title, row.personal_data)


def _purpose_codes(codes: Collection[str]) -> list[str]:
    """Purpose codes, each well formed, once each and sorted."""
    if isinstance(codes, str):  # would be read letter by letter
        raise TypeError("purposes are a sequence of codes, not one string")
    try:
        return sorted({chosen_code("purpose", code.strip()) for code in codes})
    except InvalidMeshIdentifier as error:
        raise RegistrationRefused(str(error)) from None


def _group_name(code: str, owner: MemberId | None) -> str:
    return f"{GLOBAL_GROUP}{code}" if owner is None else f"{owner}/{LOCAL_GROUP}{code}"
