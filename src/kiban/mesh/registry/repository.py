"""Every query of the central registry."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from kiban.core.database import Base
from kiban.mesh.identifiers import MemberId, ServiceId, SubsystemId
from kiban.mesh.registry.models import (
    MeshAccessRight,
    MeshGateway,
    MeshGroup,
    MeshGroupMember,
    MeshMember,
    MeshService,
    MeshSubsystem,
    RegistrationStatus,
)
from kiban.registry.corporations.models import Corporation
from kiban.registry.localgov.models import LocalGovernment


class RegistryRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, row: Base) -> None:
        self.session.add(row)
        self.session.flush()

    def delete(self, row: Base) -> None:
        self.session.delete(row)
        self.session.flush()

    def member(self, member: MemberId) -> MeshMember | None:
        return self.session.get(MeshMember, (member.member_class.value, member.code))

    def subsystem(self, subsystem: SubsystemId) -> MeshSubsystem | None:
        member = subsystem.member
        return self.session.get(
            MeshSubsystem, (member.member_class.value, member.code, subsystem.code)
        )

    def members(self, status: RegistrationStatus | None = None) -> Sequence[MeshMember]:
        statement = select(MeshMember).order_by(MeshMember.member_class, MeshMember.member_code)
        if status is not None:
            statement = statement.where(MeshMember.status == status.value)
        return self.session.scalars(statement).all()

    def subsystems(
        self, member: MemberId | None = None, status: RegistrationStatus | None = None
    ) -> Sequence[MeshSubsystem]:
        statement = select(MeshSubsystem).order_by(
            MeshSubsystem.member_class, MeshSubsystem.member_code, MeshSubsystem.subsystem_code
        )
        if member is not None:
            statement = statement.where(
                MeshSubsystem.member_class == member.member_class.value,
                MeshSubsystem.member_code == member.code,
            )
        if status is not None:
            statement = statement.where(MeshSubsystem.status == status.value)
        return self.session.scalars(statement).all()

    def gateway(self, member: MemberId, address: str) -> MeshGateway | None:
        return self.session.get(MeshGateway, (member.member_class.value, member.code, address))

    def gateways(
        self, member: MemberId | None = None, status: RegistrationStatus | None = None
    ) -> Sequence[MeshGateway]:
        """Gateway addresses, of one member or of every member (in ``status``)."""
        statement = select(MeshGateway).order_by(
            MeshGateway.member_class, MeshGateway.member_code, MeshGateway.address
        )
        if member is not None:
            statement = statement.where(
                MeshGateway.member_class == member.member_class.value,
                MeshGateway.member_code == member.code,
            )
        if status is not None:
            statement = statement.join(
                MeshMember,
                (MeshMember.member_class == MeshGateway.member_class)
                & (MeshMember.member_code == MeshGateway.member_code),
            ).where(MeshMember.status == status.value)
        return self.session.scalars(statement).all()

    def service(self, service: ServiceId) -> MeshService | None:
        subsystem = service.subsystem
        return self.session.get(
            MeshService,
            (
                subsystem.member.member_class.value,
                subsystem.member.code,
                subsystem.code,
                service.code,
                service.version or "",
            ),
        )

    def services(self, subsystem: SubsystemId | None = None) -> Sequence[MeshService]:
        statement = select(MeshService).order_by(
            MeshService.member_class,
            MeshService.member_code,
            MeshService.subsystem_code,
            MeshService.service_code,
            MeshService.version,
        )
        if subsystem is not None:
            statement = statement.where(
                MeshService.member_class == subsystem.member.member_class.value,
                MeshService.member_code == subsystem.member.code,
                MeshService.subsystem_code == subsystem.code,
            )
        return self.session.scalars(statement).all()

    def group(self, owner_class: str, owner_code: str, code: str) -> MeshGroup | None:
        return self.session.get(MeshGroup, (owner_class, owner_code, code))

    def group_member(self, group: MeshGroup, subsystem: SubsystemId) -> MeshGroupMember | None:
        return self.session.get(
            MeshGroupMember,
            (
                group.owner_class,
                group.owner_code,
                group.group_code,
                subsystem.member.member_class.value,
                subsystem.member.code,
                subsystem.code,
            ),
        )

    def group_subsystems(self, group: MeshGroup) -> list[SubsystemId]:
        rows = self.session.scalars(
            select(MeshGroupMember)
            .where(
                MeshGroupMember.owner_class == group.owner_class,
                MeshGroupMember.owner_code == group.owner_code,
                MeshGroupMember.group_code == group.group_code,
            )
            .order_by(
                MeshGroupMember.member_class,
                MeshGroupMember.member_code,
                MeshGroupMember.subsystem_code,
            )
        )
        return [
            SubsystemId.of(MemberId.of(row.member_class, row.member_code), row.subsystem_code)
            for row in rows
        ]

    def in_group(self, owner: tuple[str, str], code: str, subsystem: SubsystemId) -> bool:
        group = self.group(*owner, code)
        return group is not None and self.group_member(group, subsystem) is not None

    def right(self, key: tuple[str, ...]) -> MeshAccessRight | None:
        return self.session.get(MeshAccessRight, key)

    def rights(self, service: ServiceId) -> Sequence[MeshAccessRight]:
        member = service.subsystem.member
        return self.session.scalars(
            select(MeshAccessRight)
            .where(
                MeshAccessRight.member_class == member.member_class.value,
                MeshAccessRight.member_code == member.code,
                MeshAccessRight.subsystem_code == service.subsystem.code,
                MeshAccessRight.service_code == service.code,
                MeshAccessRight.version == (service.version or ""),
            )
            .order_by(MeshAccessRight.method, MeshAccessRight.path, MeshAccessRight.subject)
        ).all()

    def local_government(self, code: str) -> LocalGovernment | None:
        return self.session.get(LocalGovernment, code)

    def corporation(self, number: str) -> Corporation | None:
        return self.session.get(Corporation, number)
