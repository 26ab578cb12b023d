"""Prime accounts follow their representatives' resident records (see ``kiban.subscribers``).

A prime's identity rests on a current resident record (its name comes from it), so 転出 and
死亡 disable it in the same transaction, with its sessions.  The company still exists, so
its members keep working; its next representative registers a new prime, who manages them.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from kiban.identity.business.service import BusinessService
from kiban.residents.events import ResidentRemoved

ACTOR = "system:resident-movement"


def on_resident_removed(session: Session, event: ResidentRemoved) -> None:
    """転出 or 死亡: disable every prime the person represents."""
    resident_ref = f"{event.tenant_code}:{event.addressee_number}"
    BusinessService(session).disable_primes_represented_by(resident_ref, actor=ACTOR)
