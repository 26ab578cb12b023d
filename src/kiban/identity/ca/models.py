"""The certificate authority's tables: its own keys and the register of what it issued.

The CA is national infrastructure, like J-LIS for the real cards: one per deployment, shared
by every tenant, so none of these tables is tenant-owned.  A resident's certificate refers to
the resident record it was issued for; an organisation's certificate to its mesh member code.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
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


class CaRole(StrEnum):
    ROOT = "root"
    ISSUING = "issuing"


class CertificateKind(StrEnum):
    AUTHENTICATION = "auth"  # 利用者証明用電子証明書: no personal data
    SIGNING = "sign"  # 署名用電子証明書: 基本4情報 in subjectAltName
    ORGANISATION = "organisation"  # a mesh member (JP/LG/131016, …)


class CertificateStatus(StrEnum):
    VALID = "valid"  # issued and not revoked; whether it has expired is a matter of the clock
    REVOKED = "revoked"


class RevocationReason(StrEnum):
    """RFC 5280 CRLReason names, as stored and as given to ``kiban ca revoke --reason``."""

    UNSPECIFIED = "unspecified"
    KEY_COMPROMISE = "key_compromise"  # the card was lost or stolen
    AFFILIATION_CHANGED = "affiliation_changed"  # 転居: the signing certificate's address is old
    SUPERSEDED = "superseded"  # a new card replaced it
    CESSATION_OF_OPERATION = "cessation_of_operation"  # 転出 or 死亡


def _one_of(column: str, values: type[StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(str(value.value)) for value in values)})"


class CaKey(Base):
    """A CA certificate and its private key, encrypted under a key derived from the secret key."""

    __tablename__ = "ca_keys"

    role: Mapped[str] = mapped_column(String(16), primary_key=True)
    certificate_pem: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(64))  # SHA-256 of the DER, hex
    encrypted_key_pem: Mapped[str] = mapped_column(Text)  # PKCS#8, BestAvailableEncryption
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (CheckConstraint(_one_of("role", CaRole), name="role"),)


class IssuedCertificate(Base):
    """The certificate register: every certificate the issuing CA signed, by serial number."""

    __tablename__ = "issued_certificates"

    serial_number: Mapped[str] = mapped_column(String(40), primary_key=True)  # lower-case hex
    kind: Mapped[str] = mapped_column(String(16))
    # The holder: a resident record for auth/sign, a mesh member code for organisation.
    tenant_code: Mapped[str | None] = mapped_column(String(6))
    addressee_number: Mapped[str | None] = mapped_column(String(10))
    member_code: Mapped[str | None] = mapped_column(String(64))
    not_before: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    not_after: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revocation_reason: Mapped[str | None] = mapped_column(String(32))
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    fingerprint: Mapped[str] = mapped_column(String(64))  # SHA-256 of the DER, hex
    certificate_der: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_code", "addressee_number"],
            ["residents.tenant_code", "residents.addressee_number"],
        ),
        CheckConstraint(_one_of("kind", CertificateKind), name="kind"),
        CheckConstraint(_one_of("status", CertificateStatus), name="status"),
        CheckConstraint(
            "revocation_reason IS NULL OR " + _one_of("revocation_reason", RevocationReason),
            name="revocation_reason",
        ),
        # A resident certificate names its resident, an organisation certificate its member.
        CheckConstraint(
            "(kind = 'organisation' AND member_code IS NOT NULL AND tenant_code IS NULL)"
            " OR (kind <> 'organisation' AND member_code IS NULL"
            " AND tenant_code IS NOT NULL AND addressee_number IS NOT NULL)",
            name="holder",
        ),
        CheckConstraint(
            "(status = 'revoked') = (revoked_at IS NOT NULL AND revocation_reason IS NOT NULL)",
            name="revocation",
        ),
        Index("ix_issued_certificates_resident", "tenant_code", "addressee_number"),
        Index("ix_issued_certificates_member", "member_code"),
        # The CRL lists revoked certificates that have not expired yet.
        Index("ix_issued_certificates_revoked", "status", "not_after"),
    )
