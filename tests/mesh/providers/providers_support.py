"""Tenants' gateway headers and the people of the provider-system tests."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from urllib.parse import quote

from sqlalchemy.orm import Session

from kiban.residents.codes import Relationship, Sex
from kiban.residents.models import Resident
from kiban.tenants.service import TenantService

CHIYODA = "131016"
HACHIOJI = "132012"
# The day the resident service believes it is, so that no date check depends on the clock.
TODAY = date(2025, 6, 30)
LEGAL_BASIS = "番号法第19条第8号"
DATA_SUBJECT = "kiban-data-subject"


def exchange_headers(**changes: str) -> dict[str, str]:
    """The ``Kiban-*`` headers a provider's gateway passes on with a call for personal data."""
    headers = {
        "Kiban-Client": "JP/LG/011002/tax",
        "Kiban-Id": str(uuid.uuid4()),
        "Kiban-UserId": "tax-001",
        "Kiban-Purpose": "child-allowance",
        "Kiban-Legal-Basis": quote(LEGAL_BASIS),
    }
    headers.update(changes)
    return headers


def gateway_headers(session: Session, code: str) -> dict[str, str]:
    """Enable tenant ``code``; the headers of its gateway: an API key and an exchange's."""
    service = TenantService(session)
    service.enable(code)
    token = service.create_key(code, "mesh gateway").token
    return {"Authorization": f"Bearer {token}", **exchange_headers()}


@dataclass(frozen=True)
class Member:
    family: tuple[str, str]
    given: tuple[str, str]
    birth_date: date
    sex: Sex
    relationship: Relationship


MoveIn = Callable[..., list[Resident]]

YAMADA = ("山田", "ヤマダ")
TARO = Member(YAMADA, ("太郎", "タロウ"), date(1975, 8, 10), Sex.MALE, Relationship.HEAD)
HANAKO = Member(YAMADA, ("花子", "ハナコ"), date(1978, 2, 3), Sex.FEMALE, Relationship.WIFE)
ICHIRO = Member(YAMADA, ("一郎", "イチロウ"), date(2012, 11, 20), Sex.MALE, Relationship.CHILD)
