"""The demo wallet: seeded residents' cards, approving through the real verification."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from identity.ca.ca_support import MakeResident
from identity.card.test_signin import start
from kiban.core.config import Settings
from kiban.core.csrf import CSRF_COOKIE
from kiban.core.sessions import AuthSession
from kiban.identity.card.demo import DEMO_PIN, issue_demo_cards, wallet_directory
from kiban.identity.card.virtual import VirtualCard


@pytest.fixture
def wallet_settings(settings: Settings) -> Settings:
    settings.demo_wallet = True
    return settings


@pytest.fixture
def wallet_client(client: TestClient, wallet_settings: Settings) -> TestClient:
    """The test client of an app whose settings (the same object) now enable the wallet."""
    return client


def test_issue_demo_cards_is_idempotent(
    db_session: Session, wallet_settings: Settings, make_resident: MakeResident
) -> None:
    make_resident()
    make_resident(given="次郎")
    assert issue_demo_cards(db_session, wallet_settings, per_tenant=1) == 1
    assert issue_demo_cards(db_session, wallet_settings, per_tenant=1) == 0
    assert issue_demo_cards(db_session, wallet_settings, per_tenant=5) == 1
    folders = sorted(p.name for p in wallet_directory(wallet_settings).iterdir())
    assert len(folders) == 2
    assert VirtualCard(wallet_directory(wallet_settings) / folders[0]).metadata["signing_serial"]


def _approve(client: TestClient, card_id: str, code: str, pin: str) -> str:
    page = client.get("/demo/wallet", params={"code": code})
    assert page.status_code == 200
    assert "DEMO ONLY" in page.text
    response = client.post(
        "/demo/wallet",
        data={
            "csrf_token": client.cookies[CSRF_COOKIE],
            "card_id": card_id,
            "code": code,
            "pin": pin,
        },
    )
    return response.text


def test_a_visitor_signs_in_with_the_demo_wallet(
    wallet_client: TestClient,
    db_session: Session,
    wallet_settings: Settings,
    make_resident: MakeResident,
) -> None:
    resident = make_resident()
    issue_demo_cards(db_session, wallet_settings, per_tenant=1)
    code = start(wallet_client)
    assert f"/demo/wallet?code={code}" in wallet_client.get(f"/signin/card/{code}").text
    card_id = f"{resident.tenant_code}-{resident.addressee_number}"
    prefilled = wallet_client.get("/demo/wallet", params={"code": code}).text
    assert f'value="{code}"' in prefilled  # from the sign-in page's link
    wrong = _approve(wallet_client, card_id, code, "9999")
    assert "残り2回" in wrong
    assert "承認しました" in _approve(wallet_client, card_id, code, DEMO_PIN)
    done = wallet_client.get(f"/signin/card/{code}", follow_redirects=False)
    assert done.status_code == 303
    auth_session = db_session.scalars(select(AuthSession)).one()
    assert auth_session.subject_id == f"{resident.tenant_code}:{resident.addressee_number}"


def test_wallet_bad_input(
    wallet_client: TestClient,
    db_session: Session,
    wallet_settings: Settings,
    make_resident: MakeResident,
) -> None:
    make_resident()
    issue_demo_cards(db_session, wallet_settings, per_tenant=1)
    code = start(wallet_client)
    assert "8文字" in _approve(wallet_client, "131016-0000000019", "nope", DEMO_PIN)
    assert "デモ用ウォレットにない" in _approve(wallet_client, "../../etc", code, DEMO_PIN)
    assert Path(wallet_settings.data_dir).exists()
