"""The consent artefacts' table: one row for each consent a resident granted.

National, like the registry's and the data tracker's tables: a consent is spent by the
provider's gateway through the platform, which answers for every provider.  The person is
named as their local government knows them — its code and their 宛名番号, the resident
session's subject — and the provider is that local government (``JP/LG/{tenant_code}``).

The consumer and the service are kept in their parts, like the registry keeps them, so that
the consumer's registered name and the service's title are joined in when a consent is read:
a member code names the same organisation for good, and registry rows are never deleted.
Nothing of a consent changes once granted but what happens to it: its uses and its
revocation.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from kiban.core.database import Base
from kiban.identity.ca.service import JAPAN, as_utc
from kiban.mesh.identifiers import CODE_MAX_LENGTH, MemberClass, MemberId, ServiceId, SubsystemId

WHOLE_SERVICE = "*"  # the items of a consent to all of a service's operations
EXPLANATION_MAX_LENGTH = 500
REASON_MAX_LENGTH = 500


class ConsentKind(StrEnum):
    ONE_TIME = "one-time"  # spent by the first exchange that names it
    PERIODIC = "periodic"  # usable again and again until it expires

    @property
    def label_ja(self) -> str:
        return "1回だけ" if self is ConsentKind.ONE_TIME else "期限まで繰り返し"

    @property
    def label_en(self) -> str:
        return "Once" if self is ConsentKind.ONE_TIME else "Repeatedly, until it expires"


class ConsentStatus(StrEnum):
    """Where a consent stands at a moment, as the resident and the auditors see it."""

    ACTIVE = "active"
    PENDING = "pending"  # not valid yet
    USED = "used"  # a one-time consent, spent
    EXPIRED = "expired"
    REVOKED = "revoked"


class MeshConsent(Base):
    """That the person allowed ``consumer`` to have ``items`` of ``service`` about them, for
    ``purpose``, from ``valid_from`` through ``valid_until`` (Japan time), once or
    repeatedly — and what became of it."""

    __tablename__ = "mesh_consents"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # a UUID, given to the consumer
    # The person: their local government, which provides the service, and their 宛名番号.
    tenant_code: Mapped[str] = mapped_column(String(6))
    addressee_number: Mapped[str] = mapped_column(String(10))
    consumer_class: Mapped[str] = mapped_column(String(3))
    consumer_code: Mapped[str] = mapped_column(String(13))
    consumer_subsystem: Mapped[str] = mapped_column(String(CODE_MAX_LENGTH))
    # One of the local government's own services.
    service_subsystem: Mapped[str] = mapped_column(String(CODE_MAX_LENGTH))
    service_code: Mapped[str] = mapped_column(String(CODE_MAX_LENGTH))
    service_version: Mapped[str] = mapped_column(String(8))  # empty for an unversioned service
    # "*" for the whole service, else its operations as its OpenAPI document names them,
    # "GET /residents/{addressee_number}/certificate", one a line, sorted.
    items: Mapped[str] = mapped_column(Text)
    purpose: Mapped[str] = mapped_column(String(CODE_MAX_LENGTH))
    explanation: Mapped[str] = mapped_column(String(EXPLANATION_MAX_LENGTH))  # the consumer's
    kind: Mapped[str] = mapped_column(String(16))
    valid_from: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    valid_until: Mapped[date] = mapped_column(Date)  # the last day, Japan time
    granted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_by: Mapped[str | None] = mapped_column(String(128))
    revocation_reason: Mapped[str | None] = mapped_column(String(REASON_MAX_LENGTH))
    # A one-time consent's use: when, and by which exchange (its Kiban-Id).
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    used_message_id: Mapped[str | None] = mapped_column(String(36))
    use_count: Mapped[int] = mapped_column(Integer, default=0)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        ForeignKeyConstraint(
            ["consumer_class", "consumer_code", "consumer_subsystem"],
            [
                "mesh_subsystems.member_class",
                "mesh_subsystems.member_code",
                "mesh_subsystems.subsystem_code",
            ],
            name="fk_mesh_consents_consumer",
        ),
        CheckConstraint(
            f"kind IN ({', '.join(repr(kind.value) for kind in ConsentKind)})", name="kind"
        ),
        CheckConstraint(
            "(revoked_at IS NULL AND revoked_by IS NULL AND revocation_reason IS NULL)"
            " OR (revoked_at IS NOT NULL AND revoked_by IS NOT NULL)",
            name="revoked",
        ),
        CheckConstraint(
            "(used_at IS NULL AND used_message_id IS NULL) OR (kind = 'one-time'"
            " AND used_at IS NOT NULL AND used_message_id IS NOT NULL AND use_count = 1)",
            name="used",
        ),
        CheckConstraint("use_count >= 0", name="use_count"),
        # The person's own consents, newest first (the portal, and an auditor asking about one
        # person); then all of a local government's consents by time (an auditor's listing).
        Index(
            "ix_mesh_consents_subject",
            "tenant_code",
            "addressee_number",
            "granted_at",
        ),
        Index("ix_mesh_consents_granted_at", "tenant_code", "granted_at"),
    )

    @property
    def provider(self) -> MemberId:
        return MemberId(MemberClass.LG, self.tenant_code)

    @property
    def service(self) -> ServiceId:
        subsystem = SubsystemId.of(self.provider, self.service_subsystem)
        return ServiceId.of(subsystem, self.service_code, self.service_version or None)

    @property
    def consumer(self) -> SubsystemId:
        return SubsystemId.of(
            MemberId.of(self.consumer_class, self.consumer_code), self.consumer_subsystem
        )

    @property
    def operations(self) -> list[str]:
        """The operations it covers; ``["*"]`` for the whole service."""
        return self.items.split("\n")

    @property
    def consent_kind(self) -> ConsentKind:
        return ConsentKind(self.kind)

    def status(self, now: datetime) -> ConsentStatus:
        if self.revoked_at is not None:
            return ConsentStatus.REVOKED
        if self.used_at is not None:
            return ConsentStatus.USED
        if self.valid_until < now.astimezone(JAPAN).date():
            return ConsentStatus.EXPIRED
        if as_utc(self.valid_from) > now:
            return ConsentStatus.PENDING
        return ConsentStatus.ACTIVE
