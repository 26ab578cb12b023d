"""The central registry's members and subsystems, each registered on the operator's approval.

The mesh is national infrastructure, like the identity provider: its tables are not owned by
a tenant.  A request stays in the registry whatever its outcome, with who asked, who decided
and why, so that the register can say how any organisation came to be on it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKeyConstraint,
    Index,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from kiban.core.database import Base
from kiban.mesh.identifiers import CODE_MAX_LENGTH, MemberClass, MemberId, ServiceId, SubsystemId
from kiban.mesh.registry.gateways import GATEWAY_ADDRESS_MAX_LENGTH


class RegistrationStatus(StrEnum):
    PENDING = "pending"  # asked for, waiting for the registry operator
    APPROVED = "approved"
    REJECTED = "rejected"


def _one_of(column: str, values: type[StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(value.value) for value in values)})"


class _Registration:
    """Who asked for the registration and how the registry operator decided."""

    status: Mapped[str] = mapped_column(String(16))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    requested_by: Mapped[str] = mapped_column(String(128))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[str | None] = mapped_column(String(128))
    decision_reason: Mapped[str | None] = mapped_column(String(500))


class MeshMember(_Registration, Base):
    """An organisation: a national agency, a local government, a public body or a company."""

    __tablename__ = "mesh_members"

    member_class: Mapped[str] = mapped_column(String(3), primary_key=True)
    member_code: Mapped[str] = mapped_column(String(13), primary_key=True)
    name: Mapped[str] = mapped_column(String(256))

    __table_args__ = (
        CheckConstraint(_one_of("member_class", MemberClass), name="member_class"),
        CheckConstraint(_one_of("status", RegistrationStatus), name="status"),
        Index("ix_mesh_members_status", "status"),
    )


class MeshSubsystem(_Registration, Base):
    """One of a member's systems, which calls or provides services through its gateway."""

    __tablename__ = "mesh_subsystems"

    member_class: Mapped[str] = mapped_column(String(3), primary_key=True)
    member_code: Mapped[str] = mapped_column(String(13), primary_key=True)
    subsystem_code: Mapped[str] = mapped_column(String(CODE_MAX_LENGTH), primary_key=True)

    __table_args__ = (
        ForeignKeyConstraint(
            ["member_class", "member_code"],
            ["mesh_members.member_class", "mesh_members.member_code"],
            name="fk_mesh_subsystems_member",
        ),
        CheckConstraint(_one_of("status", RegistrationStatus), name="status"),
        Index("ix_mesh_subsystems_status", "status"),
    )


class MeshService(Base):
    """A service an approved subsystem provides, described by an OpenAPI document.

    Published by the providing member, without the operator's approval: who may call it is
    decided by the provider's access rights.  ``version`` is empty for an unversioned service.
    """

    __tablename__ = "mesh_services"

    member_class: Mapped[str] = mapped_column(String(3), primary_key=True)
    member_code: Mapped[str] = mapped_column(String(13), primary_key=True)
    subsystem_code: Mapped[str] = mapped_column(String(CODE_MAX_LENGTH), primary_key=True)
    service_code: Mapped[str] = mapped_column(String(CODE_MAX_LENGTH), primary_key=True)
    version: Mapped[str] = mapped_column(String(8), primary_key=True)
    title: Mapped[str] = mapped_column(String(256))
    # Whether answers carry a person's data: then every call needs a purpose and legal basis,
    # and every answer leaves a data-tracker record.
    personal_data: Mapped[bool] = mapped_column(Boolean)
    openapi: Mapped[str] = mapped_column(Text)  # the OpenAPI 3 document, as JSON
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    published_by: Mapped[str] = mapped_column(String(128))

    __table_args__ = (
        ForeignKeyConstraint(
            ["member_class", "member_code", "subsystem_code"],
            [
                "mesh_subsystems.member_class",
                "mesh_subsystems.member_code",
                "mesh_subsystems.subsystem_code",
            ],
            name="fk_mesh_services_subsystem",
        ),
    )


class MeshGateway(Base):
    """An address where one of an approved member's gateways is reached, as X-Road's global
    configuration lists security servers' addresses: ``https://HOST:PORT``."""

    __tablename__ = "mesh_gateways"

    member_class: Mapped[str] = mapped_column(String(3), primary_key=True)
    member_code: Mapped[str] = mapped_column(String(13), primary_key=True)
    address: Mapped[str] = mapped_column(String(GATEWAY_ADDRESS_MAX_LENGTH), primary_key=True)
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    registered_by: Mapped[str] = mapped_column(String(128))

    __table_args__ = (
        ForeignKeyConstraint(
            ["member_class", "member_code"],
            ["mesh_members.member_class", "mesh_members.member_code"],
            name="fk_mesh_gateways_member",
        ),
    )


class GroupScope(StrEnum):
    GLOBAL = "global"  # defined by the registry operator, usable by every provider
    LOCAL = "local"  # defined by one member, for its own services' access rights


class MeshGroup(Base):
    """A named set of subsystems that access rights can be granted to at once.

    A global group has no owner (its owner columns are empty); a local group belongs to the
    member that defined it.
    """

    __tablename__ = "mesh_groups"

    owner_class: Mapped[str] = mapped_column(String(3), primary_key=True)
    owner_code: Mapped[str] = mapped_column(String(13), primary_key=True)
    group_code: Mapped[str] = mapped_column(String(CODE_MAX_LENGTH), primary_key=True)
    description: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class MeshGroupMember(Base):
    __tablename__ = "mesh_group_members"

    owner_class: Mapped[str] = mapped_column(String(3), primary_key=True)
    owner_code: Mapped[str] = mapped_column(String(13), primary_key=True)
    group_code: Mapped[str] = mapped_column(String(CODE_MAX_LENGTH), primary_key=True)
    member_class: Mapped[str] = mapped_column(String(3), primary_key=True)
    member_code: Mapped[str] = mapped_column(String(13), primary_key=True)
    subsystem_code: Mapped[str] = mapped_column(String(CODE_MAX_LENGTH), primary_key=True)
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        ForeignKeyConstraint(
            ["owner_class", "owner_code", "group_code"],
            ["mesh_groups.owner_class", "mesh_groups.owner_code", "mesh_groups.group_code"],
            name="fk_mesh_group_members_group",
        ),
        ForeignKeyConstraint(
            ["member_class", "member_code", "subsystem_code"],
            [
                "mesh_subsystems.member_class",
                "mesh_subsystems.member_code",
                "mesh_subsystems.subsystem_code",
            ],
            name="fk_mesh_group_members_subsystem",
        ),
    )


class GrantedTo(StrEnum):
    SUBSYSTEM = "subsystem"
    GLOBAL_GROUP = "global_group"
    LOCAL_GROUP = "local_group"


class MeshAccessRight(Base):
    """Who may call a service: all of it (method and path ``*``) or one of its operations."""

    __tablename__ = "mesh_access_rights"

    member_class: Mapped[str] = mapped_column(String(3), primary_key=True)
    member_code: Mapped[str] = mapped_column(String(13), primary_key=True)
    subsystem_code: Mapped[str] = mapped_column(String(CODE_MAX_LENGTH), primary_key=True)
    service_code: Mapped[str] = mapped_column(String(CODE_MAX_LENGTH), primary_key=True)
    version: Mapped[str] = mapped_column(String(8), primary_key=True)
    method: Mapped[str] = mapped_column(String(8), primary_key=True)
    path: Mapped[str] = mapped_column(String(512), primary_key=True)
    granted_to: Mapped[str] = mapped_column(String(16), primary_key=True)
    # A subsystem's identifier (JP/LG/131016/juki), or a group's code.
    subject: Mapped[str] = mapped_column(String(160), primary_key=True)
    # For a service with personal data, the purposes the grantee may call it for: purpose
    # codes, sorted and separated by spaces.  Empty for other services.
    purposes: Mapped[str] = mapped_column(Text, server_default="")
    granted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    granted_by: Mapped[str] = mapped_column(String(128))

    __table_args__ = (
        ForeignKeyConstraint(
            ["member_class", "member_code", "subsystem_code", "service_code", "version"],
            [
                "mesh_services.member_class",
                "mesh_services.member_code",
                "mesh_services.subsystem_code",
                "mesh_services.service_code",
                "mesh_services.version",
            ],
            name="fk_mesh_access_rights_service",
        ),
        CheckConstraint(_one_of("granted_to", GrantedTo), name="granted_to"),
    )


class MeshSigningKey(Base):
    """The key that signs the global configuration, with the registry's certificate from
    kiban's CA; the private key is stored encrypted under a key derived from the secret key."""

    __tablename__ = "mesh_signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)  # the certificate's serial
    certificate_pem: Mapped[str] = mapped_column(Text)
    private_key_pem: Mapped[bytes] = mapped_column(LargeBinary)  # PKCS#8, encrypted
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def service_id_of(row: MeshService | MeshAccessRight) -> ServiceId:
    """The identifier of the service a row is, or is about."""
    subsystem = SubsystemId.of(MemberId.of(row.member_class, row.member_code), row.subsystem_code)
    return ServiceId.of(subsystem, row.service_code, row.version or None)
