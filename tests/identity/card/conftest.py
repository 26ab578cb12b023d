"""Fixtures for the card tests: residents with certificates and a browser's sign-in."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy.orm import Session

from identity.ca.ca_support import MakeResident, authority, issue_certificates, make_resident
from kiban.core.config import Settings
from kiban.identity.ca.authority import Authority
from kiban.identity.ca.service import ResidentCertificates
from kiban.identity.card.protocol import b64url, signin_message
from kiban.residents.models import Resident

__all__ = ["authority", "make_resident"]


@dataclass
class Holder:
    """A resident with certificates and the authentication key, as a device holds them."""

    resident: Resident
    key: ec.EllipticCurvePrivateKey
    certificates: ResidentCertificates

    @property
    def certificate_pem(self) -> str:
        certificate = self.certificates.authentication.certificate
        return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")

    def signature(self, origin: str, code: str, challenge: str) -> bytes:
        return self.key.sign(signin_message(origin, code, challenge), ec.ECDSA(hashes.SHA256()))

    def approval(self, origin: str, code: str, challenge: str) -> dict[str, str]:
        """The device API's request body."""
        return {
            "certificate": self.certificate_pem,
            "signature": b64url(self.signature(origin, code, challenge)),
        }


@pytest.fixture
def holder(
    db_session: Session, settings: Settings, authority: Authority, make_resident: MakeResident
) -> Holder:
    resident = make_resident()
    key = ec.generate_private_key(ec.SECP256R1())
    return Holder(
        resident, key, issue_certificates(db_session, settings, resident, authentication_key=key)
    )
