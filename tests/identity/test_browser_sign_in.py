"""End to end in Chromium: a visitor signs in to the sample relying party with the demo
wallet's card, agrees to share their details, and sees the claims the relying party got; a
business account's prime removes a member.  Every page on the way passes axe's checks.

Everything is real: the sign-in page, the wallet approving with a signature from a virtual
card, the consent page, and the relying party exchanging the code over HTTP.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from starlette.responses import Response

from accessibility import AXE, wcag_violations
from identity.oidc.provider_support import move_in
from kiban.app import create_app
from kiban.core.config import Settings
from kiban.core.sessions import SESSION_COOKIE, SubjectKind, start_session
from kiban.demo.relying_party import register_demo_client
from kiban.identity.business.service import BusinessService
from kiban.identity.card.demo import DEMO_PIN, issue_demo_cards
from kiban.identity.staff.demo import seed_demo_staff
from kiban.registry.corporations.models import Corporation
from kiban.registry.corporations.synthetic import generate_corporations
from kiban.residents.models import Resident
from live_server import listen, serving

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


def _seed(engine: Engine, settings: Settings) -> None:
    """One resident of 千代田区 with a card in the demo wallet, the sample relying party and
    千代田区's demo staff."""
    with Session(engine) as session:
        move_in(session, "131016", "霞が関一丁目")
        assert issue_demo_cards(session, settings, per_tenant=1) == 1
        register_demo_client(session, settings)
        seed_demo_staff(session, settings, ("131016",))
        session.commit()


@pytest.fixture(scope="module")
def demo_server(private_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    listener, url = listen()
    settings = Settings(
        database_url=private_engine.url.render_as_string(hide_password=False),
        data_dir=Path(tmp_path_factory.mktemp("demo")),
        public_url=url,
        demo_wallet=True,
        preload_registry=False,
        log_format="console",
        log_level="warning",
    )
    _seed(private_engine, settings)
    with serving(create_app(settings, private_engine), listener):
        yield url


@pytest.fixture
def page(browser: Browser, demo_server: str) -> Iterator[Page]:
    context = browser.new_context(base_url=demo_server)
    context.add_init_script(path=AXE)
    yield context.new_page()
    context.close()


def test_sign_in_to_a_relying_party_with_the_demo_wallet(page: Page) -> None:
    page.goto("/demo/relying-party/")
    page.get_by_role("button", name="kiban でサインイン").click()

    # Not signed in to kiban: the sign-in chooser, then the card sign-in's code and QR code.
    expect(page).to_have_url(re.compile(r"/signin\?next="))
    assert wcag_violations(page) == []
    page.get_by_role("button", name="カードでサインイン").click()
    expect(page.get_by_role("heading", name="サインインコード")).to_be_visible()
    assert wcag_violations(page) == []

    # The "device": the demo wallet, in a new tab with the code filled in.
    with page.context.expect_page() as opened:
        page.get_by_role("link", name="デモ用ウォレット").click()
    wallet = opened.value
    wallet.get_by_label("山田 花子", exact=False).check()
    wallet.get_by_label("暗証番号", exact=False).fill(DEMO_PIN)
    assert wcag_violations(wallet) == []
    wallet.get_by_role("button", name="承認する").click()
    wallet.close()

    # Back in the browser: continue (the page also refreshes by itself) to the consent page.
    page.get_by_role("button", name="続ける").click()
    consent = page.get_by_role("button", name="同意して提供する")
    expect(consent).to_be_visible()
    expect(page.get_by_text("デモ市 子育て支援ポータル")).to_be_visible()
    assert wcag_violations(page) == []
    consent.click()

    # The relying party exchanged the code and shows what it was given.
    claims = page.locator("#released-claims")
    expect(claims).to_contain_text("山田")
    expect(claims).to_contain_text("霞が関")
    expect(claims).to_contain_text("1980-05-01")
    expect(claims).to_contain_text("aal3")
    assert wcag_violations(page) == []

    # A sign-out request that names no relying party asks before it signs anyone out.
    page.goto("/oidc/logout")
    expect(page.get_by_role("heading", name="kiban からサインアウトしますか")).to_be_visible()
    assert wcag_violations(page) == []
    page.get_by_role("button", name="サインアウトする").click()
    expect(page.get_by_role("heading", name="サインアウトしました")).to_be_visible()
    assert wcag_violations(page) == []


def test_the_demo_staff_page_shows_what_to_sign_in_with(page: Page) -> None:
    page.goto("/demo/staff")
    expect(page.get_by_role("heading", name="デモ用職員アカウント")).to_be_visible()
    expect(page.get_by_text("demo-clerk")).to_be_visible()
    assert wcag_violations(page) == []


def test_a_prime_removes_a_member_of_its_company(
    page: Page, private_engine: Engine, demo_server: str
) -> None:
    with Session(private_engine) as session:
        generate_corporations(session, ["131016"], 5, seed=3)
        company = session.scalars(
            select(Corporation).where(
                Corporation.lg_code == "131016",
                Corporation.closed_on.is_(None),
                Corporation.number.not_like("_000020131016"),  # 千代田区 itself
            )
        ).first()
        assert company is not None
        hanako = session.scalars(select(Resident).where(Resident.given_name == "花子")).one()
        service = BusinessService(session)
        prime = service.create_prime(
            f"131016:{hanako.addressee_number}",
            company.number,
            "prime@example.jp",
            "correct horse battery",
        )
        service.create_member(prime, "suzuki@example.jp", "鈴木 一郎")
        response = Response()
        start_session(
            session,
            response,
            kind=SubjectKind.BUSINESS,
            subject_id=prime.account_id,
            acr="aal2",
            amr=["pwd", "otp"],
            settings=Settings(database_url=str(private_engine.url), public_url=demo_server),
        )
        session.commit()
    token = SimpleCookie(response.headers["set-cookie"])[SESSION_COOKIE].value
    page.context.add_cookies([{"name": SESSION_COOKIE, "value": token, "url": demo_server}])

    page.goto("/business/account")
    assert wcag_violations(page) == []
    page.get_by_role("link", name="削除する").click()
    expect(page.get_by_role("heading", name="メンバーの削除")).to_be_visible()
    assert wcag_violations(page) == []
    page.get_by_role("button", name="削除する").click()
    expect(page.get_by_text("削除済み")).to_be_visible()
    assert wcag_violations(page) == []
