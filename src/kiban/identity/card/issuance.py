"""Issuing a virtual card: new keys, their certificates from the CA, and the card folder."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy.orm import Session

from kiban.core.config import Settings
from kiban.core.errors import NotFound
from kiban.identity.ca.profiles import CURVE
from kiban.identity.ca.repository import CertificateRepository
from kiban.identity.ca.service import (
    JAPAN,
    SIGNING_MINIMUM_AGE,
    CertificateAuthorityService,
    Clock,
    ResidentCertificates,
    age_on,
    utc_now,
)
from kiban.identity.card.virtual import (
    DEFAULT_KDF_ROUNDS,
    CardError,
    CardKeys,
    check_new_card_directory,
    write_card,
)


@dataclass(frozen=True, slots=True)
class IssuedCard:
    directory: Path
    certificates: ResidentCertificates


def signing_eligible(
    session: Session, tenant_code: str, addressee_number: str, *, now: Clock = utc_now
) -> bool:
    """Whether the resident is old enough for a signing certificate today (15 or over)."""
    resident = CertificateRepository(session).resident(tenant_code, addressee_number)
    if resident is None:
        raise NotFound(f"Tenant {tenant_code} has no resident with this 宛名番号.")
    return age_on(resident.birth_date, now().astimezone(JAPAN).date()) >= SIGNING_MINIMUM_AGE


def issue_card(
    session: Session,
    settings: Settings,
    tenant_code: str,
    addressee_number: str,
    directory: Path,
    *,
    pin: str,
    signing_password: str | None,
    actor: str,
    kdf_rounds: int = DEFAULT_KDF_ROUNDS,
    now: Clock = utc_now,
) -> IssuedCard:
    """Certificates for the resident, and a card folder holding them with their keys.

    The folder is written before the caller commits; use ``card_folder_rolled_back`` so that
    a failed commit takes the folder away again.
    """
    check_new_card_directory(directory)
    authentication_key = ec.generate_private_key(CURVE)
    signing_key = ec.generate_private_key(CURVE)
    service = CertificateAuthorityService(session, settings, now=now)
    certificates = service.issue_for_resident(
        tenant_code,
        addressee_number,
        authentication_key=authentication_key.public_key(),
        signing_key=signing_key.public_key(),
        actor=actor,
    )
    if certificates.signing is not None and signing_password is None:
        raise CardError("a signing password is needed: the holder is 15 or over")
    authority = service.authority
    authentication = certificates.authentication
    write_card(
        directory,
        CardKeys(
            authentication_key=authentication_key,
            authentication_certificate=authentication.certificate,
            signing_key=signing_key if certificates.signing else None,
            signing_certificate=certificates.signing.certificate if certificates.signing else None,
            chain=(authority.issuing, authority.root),
        ),
        pin=pin,
        signing_password=signing_password if certificates.signing else None,
        metadata={
            "server": settings.public_url,
            "tenant_code": tenant_code,
            "addressee_number": addressee_number,
            "authentication_serial": authentication.record.serial_number,
            "signing_serial": (
                certificates.signing.record.serial_number if certificates.signing else None
            ),
            "not_after": authentication.certificate.not_valid_after_utc.isoformat(),
        },
        kdf_rounds=kdf_rounds,
    )
    return IssuedCard(directory, certificates)


@contextmanager
def card_folder_rolled_back(directory: Path) -> Iterator[None]:
    """Remove a card folder written inside the block if the block (its commit) fails."""
    existed = directory.exists() and any(directory.iterdir())
    try:
        yield
    except BaseException:
        if not existed and directory.exists():
            shutil.rmtree(directory, ignore_errors=True)
        raise
