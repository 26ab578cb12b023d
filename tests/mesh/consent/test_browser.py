"""End to end in Chromium, on a phone's screen: a resident follows a bank's link, signs in
with the demo wallet's card on the way, grants the consent, is given its number, and
withdraws it; each page passes axe's WCAG 2.1 AA checks and fits the screen."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from accessibility import AXE, wcag_violations
from identity.oidc.provider_support import move_in
from kiban.app import create_app
from kiban.core.config import Settings
from kiban.identity.card.demo import DEMO_PIN, issue_demo_cards
from live_server import listen, serving
from mesh.consent.consent_support import HOUSEHOLD_ITEM, asked, register_consent_mesh

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


@pytest.fixture(scope="module")
def portal(private_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app, with 山田 花子 of 千代田区 holding a demo card, and a bank that asks."""
    listener, url = listen()
    settings = Settings(
        database_url=private_engine.url.render_as_string(hide_password=False),
        data_dir=Path(tmp_path_factory.mktemp("portal")),
        public_url=url,
        demo_wallet=True,
        preload_registry=False,
        log_format="console",
        log_level="warning",
    )
    with Session(private_engine) as session:
        move_in(session, "131016", "霞が関一丁目")
        assert issue_demo_cards(session, settings, per_tenant=1) == 1
        register_consent_mesh(session)
        session.commit()
    with serving(create_app(settings, private_engine), listener):
        yield url


@pytest.fixture
def page(browser: Browser, portal: str) -> Iterator[Page]:
    # A phone's screen: the pages are built for it first.
    context = browser.new_context(base_url=portal, viewport={"width": 360, "height": 740})
    context.add_init_script(path=AXE)
    yield context.new_page()
    context.close()


def _fits(page: Page) -> None:
    assert wcag_violations(page) == []
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_resident_grants_a_consent_on_a_phone_and_withdraws_it(page: Page) -> None:
    link = "/me/consents/new?" + urlencode(
        asked(items=["GET /residents/{addressee_number}/certificate", HOUSEHOLD_ITEM])
    )
    page.goto(link)
    expect(page).to_have_url(re.compile(r"/signin\?next=%2Fme%2Fconsents%2Fnew%3F"))
    page.get_by_role("button", name="カードでサインイン").click()
    with page.context.expect_page() as opened:
        page.get_by_role("link", name="デモ用ウォレット").click()
    wallet = opened.value
    wallet.get_by_label("山田 花子", exact=False).check()
    wallet.get_by_label("暗証番号", exact=False).fill(DEMO_PIN)
    # (The wallet's tab stays open: closing it while its approval is still being sent can
    # hang Chromium.)
    wallet.get_by_role("button", name="承認する").click()
    page.get_by_role("button", name="続ける").click()

    expect(page).to_have_url(re.compile(r"/me/consents/new\?"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("情報の提供への同意のお願い")
    expect(page.get_by_text("株式会社さくら銀行が、千代田区が持つあなたの情報")).to_be_visible()
    expect(page.get_by_text("住民票の記載事項").first).to_be_visible()
    _fits(page)

    page.get_by_role("button", name="同意する").click()
    expect(page).to_have_url(re.compile(r"/me/consents/[0-9a-f-]{36}\?granted=1$"))
    number = page.locator("#consent-number").inner_text()
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}", number)
    expect(page.get_by_role("status")).to_contain_text(
        "同意番号を株式会社さくら銀行にお伝えください"
    )
    _fits(page)

    page.get_by_role("link", name="わたしの同意").last.click()
    expect(page).to_have_url(re.compile(r"/me/consents$"))
    expect(page.get_by_role("heading", name="株式会社さくら銀行")).to_be_visible()
    _fits(page)

    page.get_by_role("button", name="同意を取り消す").click()
    expect(page).to_have_url(re.compile(r"/me/consents\?revoked=1$"))
    expect(page.get_by_role("status")).to_contain_text("同意を取り消しました")
    expect(page.get_by_text("取り消し済み")).to_be_visible()
    _fits(page)


def test_a_faulty_link_is_explained_on_a_phone(page: Page) -> None:
    page.goto("/me/consents/new?" + urlencode(asked(kind="weekly", until="someday")))
    expect(page.get_by_role("heading", level=1)).to_contain_text("同意の依頼に誤りがあります")
    expect(page.get_by_text("one-time or periodic.")).to_be_visible()
    _fits(page)
