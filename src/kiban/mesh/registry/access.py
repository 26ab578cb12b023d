"""Access rights: which subsystems may call a service, or one of its operations.

A provider grants a right to a subsystem, to a global group (defined by the registry
operator, e.g. every municipality's tax system) or to one of its own local groups.  A right
covers the whole service (``*``) or one operation of its OpenAPI document
(``GET /residents/{addressee_number}/certificate``).  :meth:`AccessService.is_allowed` is the
decision a provider's gateway takes on every request: least privilege, nothing allowed that
no right names, and only for an approved subsystem.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

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
from kiban.mesh.registry.models import (
    GrantedTo,
    MeshAccessRight,
    MeshGroup,
    MeshGroupMember,
    RegistrationStatus,
)
from kiban.mesh.registry.repository import RegistryRepository
from kiban.mesh.registry.service import (
    NAME_MAX_LENGTH,
    RegistrationRefused,
    record_registry_change,
)

GLOBAL_GROUP = "group:"  # group:municipal-tax
LOCAL_GROUP = "local-group:"  # local-group:partners, the provider's own
WHOLE_SERVICE = "*"
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

    def covers(self, method: str, path: str) -> bool:
        if self.method == WHOLE_SERVICE:
            return True
        return self.method == method.upper() and _template(self.path).fullmatch(path) is not None

    def __str__(self) -> str:
        return WHOLE_SERVICE if self.method == WHOLE_SERVICE else f"{self.method} {self.path}"


@lru_cache(maxsize=4096)
def _template(path: str) -> re.Pattern[str]:
    """An OpenAPI path template as a pattern: each ``{parameter}`` is one path segment."""
    parts = re.split(r"(\{[^/{}]+\})", path)
    return re.compile(
        "".join("[^/]+" if part.startswith("{") else re.escape(part) for part in parts if part)
    )


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
        self, service: ServiceId, grantee: Grantee, *, endpoint: Endpoint, actor: str
    ) -> MeshAccessRight:
        published = self.repository.service(service)
        if published is None:
            raise NotFound(f"{service} is not published")
        if endpoint.method != WHOLE_SERVICE and (endpoint.method, endpoint.path) not in operations(
            json.loads(published.openapi)
        ):
            raise RegistrationRefused(f"{service} has no operation {endpoint}")
        self._grantee_exists(grantee, service.subsystem.member)
        key = self._right_key(service, grantee, endpoint)
        if self.repository.right(key) is not None:
            raise RegistrationRefused(f"{grantee} may call {endpoint} of {service} already")
        right = MeshAccessRight(
            **dict(zip(_RIGHT_COLUMNS, key, strict=True)),
            granted_at=datetime.now(UTC),
            granted_by=actor,
        )
        self.repository.add(right)
        self._audit(
            "mesh.access.grant",
            actor,
            str(service),
            {"to": str(grantee), "endpoint": str(endpoint)},
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

    def is_allowed(self, client: SubsystemId, service: ServiceId, method: str, path: str) -> bool:
        """Whether ``client`` may call ``METHOD path`` of ``service``: an approved subsystem
        named by a right to it, directly or through a group."""
        subsystem = self.repository.subsystem(client)
        if subsystem is None or subsystem.status != RegistrationStatus.APPROVED:
            return False
        provider = _owner(service.subsystem.member)
        for right in self.repository.rights(service):
            if not Endpoint(right.method, right.path).covers(method, path):
                continue
            if right.granted_to == GrantedTo.SUBSYSTEM and right.subject == str(client):
                return True
            owner = _NO_OWNER if right.granted_to == GrantedTo.GLOBAL_GROUP else provider
            if right.granted_to != GrantedTo.SUBSYSTEM and self.repository.in_group(
                owner, right.subject, client
            ):
                return True
        return False

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


def _group_name(code: str, owner: MemberId | None) -> str:
    return f"{GLOBAL_GROUP}{code}" if owner is None else f"{owner}/{LOCAL_GROUP}{code}"
