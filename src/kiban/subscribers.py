"""Which handlers react to which domain events (see kiban.core.events).

Like kiban.models, this module may import every domain: it is the one place where the
one-way dependencies meet.
"""

from __future__ import annotations

from kiban.core.events import subscribe


def wire() -> None:
    """Subscribe every handler; called once, on the first event published."""
    from kiban.identity.business import lifecycle as business_lifecycle
    from kiban.identity.card import lifecycle
    from kiban.residents.events import ResidentAddressChanged, ResidentRemoved

    # A card's certificates end with the record they were issued on; the signing
    # certificate, which carries the address, also ends when the address changes.
    subscribe(ResidentRemoved, lifecycle.on_resident_removed)
    subscribe(ResidentAddressChanged, lifecycle.on_resident_address_changed)
    # A prime's representative is a resident: 転出 or 死亡 disables the prime.
    subscribe(ResidentRemoved, business_lifecycle.on_resident_removed)
