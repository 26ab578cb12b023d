"""Every query over the certificate register."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kiban.identity.ca.models import CertificateKind, CertificateStatus, IssuedCertificate
from kiban.registry.localgov.models import LocalGovernment
from kiban.residents.models import Resident


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

    def resident_status(self, tenant_code: str, addressee_number: str) -> str | None:
        """Just the status: the one thing sign-in needs to know about the record."""
        return self.session.scalar(
            select(Resident.status).where(
                Resident.tenant_code == tenant_code,
                Resident.addressee_number == addressee_number,
            )
        )

    def address_prefix(self, lg_code: str) -> str:
        """The prefecture and municipality of an address: 東京都千代田区, 大阪府大阪市北区."""
        government = self.session.get(LocalGovernment, lg_code)
        if government is None:
            return ""
        prefecture = self.session.get(LocalGovernment, government.prefecture_code)
        city = government.postal_name or government.name
        return (prefecture.name if prefecture else "") + city
