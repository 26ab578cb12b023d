"""Every query over the certificate register."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, bindparam, select
from sqlalchemy.orm import Session

from kiban.identity.ca.models import (
    CaKey,
    CaRole,
    CertificateKind,
    CertificateStatus,
    IssuedCertificate,
)
from kiban.registry.localgov.models import LocalGovernment
from kiban.residents.models import Resident


@dataclass(frozen=True, slots=True)
class RegisterEntry:
    """What verification needs of a certificate's register entry, read in one statement."""

    serial_number: str
    kind: str
    fingerprint: str
    status: str
    tenant_code: str | None
    addressee_number: str | None
    member_code: str | None
    resident_status: str | None  # the holder's record now; None for an organisation


@dataclass(frozen=True, slots=True)
class RegisterAnswer:
    """The deployment's current issuing CA and the register entry of one serial number."""

    issuing_fingerprint: str | None  # None: the CA is not set up
    entry: RegisterEntry | None  # None: the serial is not in the register


# Built once (sign-in asks it for every approval); an ORM statement, so that it sees
# certificates issued earlier in the same unit of work (autoflush).
_ANSWER = (
    select(
        CaKey.fingerprint,
        IssuedCertificate.serial_number,
        IssuedCertificate.kind,
        IssuedCertificate.fingerprint,
        IssuedCertificate.status,
        IssuedCertificate.tenant_code,
        IssuedCertificate.addressee_number,
        IssuedCertificate.member_code,
        Resident.status,
    )
    .select_from(CaKey)
    .outerjoin(IssuedCertificate, IssuedCertificate.serial_number == bindparam("serial"))
    .outerjoin(
        Resident,
        and_(
            Resident.tenant_code == IssuedCertificate.tenant_code,
            Resident.addressee_number == IssuedCertificate.addressee_number,
        ),
    )
    .where(CaKey.role == CaRole.ISSUING.value)
)


class CertificateRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, serial_number: str) -> IssuedCertificate | None:
        return self.session.get(IssuedCertificate, serial_number)

    def add(self, certificate: IssuedCertificate) -> None:
        self.session.add(certificate)

    def valid_of_resident(
        self, tenant_code: str, addressee_number: str, kinds: Collection[CertificateKind]
    ) -> Sequence[IssuedCertificate]:
        """The resident's certificates of ``kinds`` that are not revoked (expired ones too)."""
        statement = select(IssuedCertificate).where(
            IssuedCertificate.tenant_code == tenant_code,
            IssuedCertificate.addressee_number == addressee_number,
            IssuedCertificate.kind.in_([kind.value for kind in kinds]),
            IssuedCertificate.status == CertificateStatus.VALID,
        )
        return self.session.scalars(statement).all()

    def of_resident(self, tenant_code: str, addressee_number: str) -> Sequence[IssuedCertificate]:
        statement = (
            select(IssuedCertificate)
            .where(
                IssuedCertificate.tenant_code == tenant_code,
                IssuedCertificate.addressee_number == addressee_number,
            )
            .order_by(IssuedCertificate.issued_at)
        )
        return self.session.scalars(statement).all()

    def valid_of_members(
        self, member_codes: Collection[str], now: datetime
    ) -> Sequence[IssuedCertificate]:
        """The organisation certificates of these members that hold at ``now``."""
        return self.session.scalars(
            select(IssuedCertificate)
            .where(
                IssuedCertificate.kind == CertificateKind.ORGANISATION.value,
                IssuedCertificate.member_code.in_(list(member_codes)),
                IssuedCertificate.status == CertificateStatus.VALID.value,
                IssuedCertificate.not_before <= now,
                IssuedCertificate.not_after > now,
            )
            .order_by(IssuedCertificate.member_code, IssuedCertificate.serial_number)
        ).all()

    def revoked_unexpired(self, now: datetime) -> Sequence[tuple[str, datetime, str]]:
        """Serial, revocation time and reason of every revoked certificate still in its term."""
        statement = (
            select(
                IssuedCertificate.serial_number,
                IssuedCertificate.revoked_at,
                IssuedCertificate.revocation_reason,
            )
            .where(
                IssuedCertificate.status == CertificateStatus.REVOKED,
                IssuedCertificate.not_after > now,
            )
            .order_by(IssuedCertificate.revoked_at)
        )
        return [
            (serial, at, reason)
            for serial, at, reason in self.session.execute(statement)
            if at is not None and reason is not None
        ]

    def resident(self, tenant_code: str, addressee_number: str) -> Resident | None:
        return self.session.get(Resident, (tenant_code, addressee_number))

    def answer(self, serial_number: str) -> RegisterAnswer:
        """The issuing CA's fingerprint, the serial's entry and its holder's status, at once.

        Sign-in asks this for every approval: one round trip instead of three.
        """
        row = self.session.execute(_ANSWER, {"serial": serial_number}).first()
        if row is None:
            return RegisterAnswer(None, None)
        issuing, serial, kind, print_, status, tenant, addressee, member, resident = row
        if serial is None:
            return RegisterAnswer(issuing, None)
        entry = RegisterEntry(serial, kind, print_, status, tenant, addressee, member, resident)
        return RegisterAnswer(issuing, entry)

    def address_prefix(self, lg_code: str) -> str:
        """The prefecture and municipality of an address: 東京都千代田区, 大阪府大阪市北区."""
        government = self.session.get(LocalGovernment, lg_code)
        if government is None:
            return ""
        prefecture = self.session.get(LocalGovernment, government.prefecture_code)
        city = government.postal_name or government.name
        return (prefecture.name if prefecture else "") + city
