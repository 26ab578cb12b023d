"""What the resident records tell the rest of kiban (see kiban.core.events)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal


@dataclass(frozen=True, slots=True)
class ResidentRemoved:
    """The person is no longer a resident of the tenant: 転出 or 死亡."""

    tenant_code: str
    addressee_number: str
    reason: Literal["moved_out", "died"]
    occurred_on: date


@dataclass(frozen=True, slots=True)
class ResidentAddressChanged:
    """転居: a new address within the same municipality."""

    tenant_code: str
    addressee_number: str
    occurred_on: date
