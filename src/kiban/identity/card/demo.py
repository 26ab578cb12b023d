"""The demo wallet: virtual cards of seeded demo residents, kept by the server for visitors.

DEMO ONLY.  It lets a visitor without a terminal approve a card sign-in as a synthetic
resident.  The cards are real virtual cards (kiban.identity.card.virtual) under
``settings.data_dir/demo-wallet``, their keys encrypted under the published demo PIN, and an
approval goes through the same verification as any device's: a real signature over the
real challenge, checked by ``CardSignInService.approve``.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from sqlalchemy.orm import Session

from kiban.core.config import Settings
from kiban.identity.ca.authority import ensure_authority
from kiban.identity.ca.models import CertificateStatus
from kiban.identity.ca.repository import CertificateRepository
from kiban.identity.ca.service import JAPAN, as_utc, utc_now
from kiban.identity.card.issuance import issue_card
from kiban.identity.card.protocol import signin_message
from kiban.identity.card.repository import DemoResidentRepository, SignIn
from kiban.identity.card.service import CardSignInService
from kiban.identity.card.virtual import CardError, VirtualCard
from kiban.residents.synthetic import DEMO_MUNICIPALITIES

DEMO_PIN = "1234"
DEMO_SIGNING_PASSWORD = "DEMO2024"
# The demo PIN is published, so a slow KDF would protect nothing and only slow the seed.
DEMO_KDF_ROUNDS = 1_000
WALLET_DIR = "demo-wallet"
_CARD_ID = re.compile(r"^\d{6}-\d{10}$")


@dataclass(frozen=True, slots=True)
class WalletCard:
    card_id: str  # "{tenant_code}-{addressee_number}"
    tenant_code: str
    name: str
    municipality: str


def wallet_directory(settings: Settings) -> Path:
    return settings.data_dir / WALLET_DIR


def _adult_cutoff(today: date) -> date:
    """Born on or before this day: 20 or over, so every demo card has a signing certificate."""
    try:
        return today.replace(year=today.year - 20)
    except ValueError:  # 29 February
        return today.replace(year=today.year - 20, day=28)


def _is_current(session: Session, directory: Path) -> bool:
    """Whether the folder holds a card whose certificate this database still vouches for."""
    try:
        card = VirtualCard(directory)
    except CardError:
        return False
    record = CertificateRepository(session).get(card.authentication_serial)
    return (
        record is not None
        and record.status == CertificateStatus.VALID
        and as_utc(record.not_after) > utc_now()
        and not card.locked
    )


def issue_demo_cards(session: Session, settings: Settings, *, per_tenant: int = 10) -> int:
    """Cards for the first ``per_tenant`` adult residents of each demo tenant; how many new.

    Idempotent: a resident whose wallet card is still valid keeps it.  Sets up the CA if
    there is none yet.
    """
    ensure_authority(session, settings)
    residents = DemoResidentRepository(session)
    cutoff = _adult_cutoff(utc_now().astimezone(JAPAN).date())
    issued = 0
    for tenant_code in DEMO_MUNICIPALITIES:
        for resident in residents.adults(tenant_code, cutoff, per_tenant):
            directory = wallet_directory(settings) / f"{tenant_code}-{resident.addressee_number}"
            if _is_current(session, directory):
                continue
            shutil.rmtree(directory, ignore_errors=True)  # a demo card this database forgot
            issue_card(
                session,
                settings,
                tenant_code,
                resident.addressee_number,
                directory,
                pin=DEMO_PIN,
                signing_password=DEMO_SIGNING_PASSWORD,
                actor="system:demo-wallet",
                kdf_rounds=DEMO_KDF_ROUNDS,
            )
            issued += 1
    return issued


def wallet_cards(session: Session, settings: Settings) -> list[WalletCard]:
    """The cards in the wallet with their (synthetic) holders' names, for the picker."""
    root = wallet_directory(settings)
    if not root.is_dir():
        return []
    residents = DemoResidentRepository(session)
    cards = []
    for directory in sorted(root.iterdir()):
        if not _CARD_ID.match(directory.name):
            continue
        tenant_code, addressee_number = directory.name.split("-")
        resident = residents.resident(tenant_code, addressee_number)
        if resident is None:
            continue
        cards.append(
            WalletCard(
                card_id=directory.name,
                tenant_code=tenant_code,
                name=f"{resident.family_name} {resident.given_name}",
                municipality=residents.municipality_name(resident.lg_code),
            )
        )
    return cards


def open_wallet_card(settings: Settings, card_id: str) -> VirtualCard:
    if not _CARD_ID.match(card_id):
        raise CardError("no such card in the demo wallet / デモ用ウォレットにないカードです")
    directory = wallet_directory(settings) / card_id
    if not directory.is_dir():
        raise CardError("no such card in the demo wallet / デモ用ウォレットにないカードです")
    return VirtualCard(directory)


def approve_with_wallet_card(
    session: Session, settings: Settings, card_id: str, code: str, pin: str, *, client_ip: str
) -> SignIn:
    """Sign the request's challenge with a wallet card and approve it like any device."""
    card = open_wallet_card(settings, card_id)
    service = CardSignInService(session, settings)
    signin = service.describe(code, client_ip=client_ip)
    signature = card.sign(pin, signin_message(service.origin, signin.code, signin.challenge))
    certificate = card.authentication_certificate.public_bytes(serialization.Encoding.PEM)
    return service.approve(code, certificate.decode("ascii"), signature, client_ip=client_ip)
