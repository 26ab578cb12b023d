"""Every query of the central registry."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from kiban.mesh.identifiers import MemberId, ServiceId, SubsystemId
from kiban.mesh.registry.models import MeshMember, MeshService, MeshSubsystem, RegistrationStatus
from kiban.registry.corporations.models import Corporation
from kiban.registry.localgov.models import LocalGovernment


class RegistryRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, row: MeshMember | MeshSubsystem | MeshService) -> None:
        self.session.add(row)
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

    def local_government(self, code: str) -> LocalGovernment | None:
        return self.session.get(LocalGovernment, code)

    def corporation(self, number: str) -> Corporation | None:
        return self.session.get(Corporation, number)
