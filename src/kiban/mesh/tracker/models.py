"""The data tracker's table: one row for each answer that carried a person's data.

National, like the registry's tables: a record belongs to its provider, a mesh member that
need not be a tenant (a ministry, a hospital).  A local government's auditors read their
own member's rows through the tenant API, which filters on the provider.

Identifiers are kept in their parts, like the registry keeps them, so that the consumer's
registered name and the service's title are joined in when the records are read rather than
copied into each one: a member code names the same legal entity for good (a merger makes a
new member, and registry rows are never deleted), so the join always finds the organisation,
under the name the registry knows it by now — the one the person can look up.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKeyConstraint, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from kiban.core.database import Base
from kiban.mesh.identifiers import CODE_MAX_LENGTH, MemberId, ServiceId, SubsystemId

SUBJECT_MAX_LENGTH = 64
TEXT_MAX_LENGTH = 256  # as the gateways allow for Kiban-UserId and Kiban-Legal-Basis
REASON_MAX_LENGTH = 500


class MeshDataUse(Base):
    """That ``client`` received ``subject``'s data from ``service`` at ``used_at``, why, and on
    what legal basis — never the data.  A record may be hidden from the person until a day
    (inclusive, Japan time) while an investigation must not be tipped off."""

    __tablename__ = "mesh_data_uses"

    provider_class: Mapped[str] = mapped_column(String(3), primary_key=True)
    provider_code: Mapped[str] = mapped_column(String(13), primary_key=True)
    # The exchange's Kiban-Id: what makes a resent batch a no-op.
    message_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # The person, as the provider knows them: a local government's 宛名番号.
    subject: Mapped[str] = mapped_column(String(SUBJECT_MAX_LENGTH))
    # The service is one of the provider's own.
    service_subsystem: Mapped[str] = mapped_column(String(CODE_MAX_LENGTH))
    service_code: Mapped[str] = mapped_column(String(CODE_MAX_LENGTH))
    service_version: Mapped[str] = mapped_column(String(8))  # empty for an unversioned service
    client_class: Mapped[str] = mapped_column(String(3))
    client_code: Mapped[str] = mapped_column(String(13))
    client_subsystem: Mapped[str] = mapped_column(String(CODE_MAX_LENGTH))
    user_id: Mapped[str | None] = mapped_column(String(TEXT_MAX_LENGTH))
    purpose: Mapped[str] = mapped_column(String(CODE_MAX_LENGTH))
    legal_basis: Mapped[str] = mapped_column(String(TEXT_MAX_LENGTH))
    used_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    hidden_until: Mapped[date | None] = mapped_column(Date)
    hidden_reason: Mapped[str | None] = mapped_column(String(REASON_MAX_LENGTH))
    hidden_by: Mapped[str | None] = mapped_column(String(128))
    hidden_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        ForeignKeyConstraint(
            ["provider_class", "provider_code"],
            ["mesh_members.member_class", "mesh_members.member_code"],
            name="fk_mesh_data_uses_provider",
        ),
        CheckConstraint(
            "(hidden_until IS NULL AND hidden_reason IS NULL AND hidden_by IS NULL"
            " AND hidden_at IS NULL) OR (hidden_until IS NOT NULL AND hidden_reason IS NOT NULL"
            " AND hidden_by IS NOT NULL AND hidden_at IS NOT NULL)",
            name="hidden",
        ),
        # The person's own records, newest first (the portal, and an auditor asking about one
        # person); then all of a provider's records by time (an auditor's listing).
        Index("ix_mesh_data_uses_subject", "provider_class", "provider_code", "subject", "used_at"),
        Index("ix_mesh_data_uses_used_at", "provider_class", "provider_code", "used_at"),
    )

    @property
    def provider(self) -> MemberId:
        return MemberId.of(self.provider_class, self.provider_code)

    @property
    def service(self) -> ServiceId:
        subsystem = SubsystemId.of(self.provider, self.service_subsystem)
        return ServiceId.of(subsystem, self.service_code, self.service_version or None)

    @property
    def client(self) -> SubsystemId:
        return SubsystemId.of(
            MemberId.of(self.client_class, self.client_code), self.client_subsystem
        )
