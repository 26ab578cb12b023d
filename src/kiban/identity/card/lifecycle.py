"""Cards follow their holders' resident records (subscribed in ``kiban.subscribers``).

転出 and 死亡 end both certificates: the holder is no longer this CA's resident.  転居 ends
the signing certificate only, because its subjectAltName states the old address; the
authentication certificate says nothing about the person and stays valid.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from kiban.identity.ca.models import CertificateKind, RevocationReason
from kiban.identity.ca.service import CertificateRegister
from kiban.residents.events import ResidentAddressChanged, ResidentRemoved

ACTOR = "system:resident-movement"


def on_resident_removed(session: Session, event: ResidentRemoved) -> None:
    """転出 or 死亡: revoke the authentication and signing certificates."""
    CertificateRegister(session).revoke_resident(
        event.tenant_code,
        event.addressee_number,
        (CertificateKind.AUTHENTICATION, CertificateKind.SIGNING),
        RevocationReason.CESSATION_OF_OPERATION,
        actor=ACTOR,
    )


def on_resident_address_changed(session: Session, event: ResidentAddressChanged) -> None:
    """転居: revoke the signing certificate, whose subjectAltName carries the old address."""
    CertificateRegister(session).revoke_resident(
        event.tenant_code,
        event.addressee_number,
        (CertificateKind.SIGNING,),
        RevocationReason.AFFILIATION_CHANGED,
        actor=ACTOR,
    )
