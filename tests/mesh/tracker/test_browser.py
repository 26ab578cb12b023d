"""End to end in Chromium: a resident opens "who used my data", signs in with the demo
wallet's card on the way, and lands on their records; the page passes axe's WCAG 2.1 AA checks
and fits a phone's screen."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

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
from mesh.tracker.tracker_support import register_mesh, store, use

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


@pytest.fixture(scope="module")
def portal(private_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app, with 山田 花子 of 千代田区 holding a demo card and 51 uses of her data."""
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
        resident = move_in(session, "131016", "霞が関一丁目")
        assert issue_demo_cards(session, settings, per_tenant=1) == 1
        register_mesh(session)
        store(
            session,
            [
                use(subject=resident.addressee_number, used_at=f"2026-03-{day:02d}T01:15:00Z")
                for day in range(1, 29)
            ]
            + [
                use(
                    subject=resident.addressee_number,
                    used_at=f"2026-04-{day:02d}T23:45:00Z",
                    purpose="child-allowance",
                    legal_basis="児童手当法第7条",
                    user_id=None,
                )
                for day in range(1, 24)
            ],
        )
        session.commit()
    with serving(create_app(settings, private_engine), listener):
        yield url


@pytest.fixture
def page(browser: Browser, portal: str) -> Iterator[Page]:
    # A phone's screen: the page is built for it first.
    context = browser.new_context(base_url=portal, viewport={"width": 360, "height": 740})
    context.add_init_script(path=AXE)
    yield context.new_page()
    context.close()


def test_a_resident_signs_in_with_the_card_and_sees_who_used_their_data(page: Page) -> None:
    page.goto("/me/data-uses")
    expect(page).to_have_url(re.compile(r"/signin\?next=%2Fme%2Fdata-uses"))
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

    expect(page).to_have_url(re.compile(r"/me/data-uses$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("わたしの情報の利用記録")
    newest = page.get_by_role("heading", name="2026年4月24日（金）08:45")
    expect(newest).to_be_visible()
    expect(page.get_by_text("51件のうち1〜50件目")).to_be_visible()
    expect(page.get_by_text("札幌市").first).to_be_visible()
    assert wcag_violations(page) == []
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    page.get_by_role("link", name="古い記録").click()
    expect(page.get_by_role("heading", name="2026年3月1日（日）10:15")).to_be_visible()
    expect(page.get_by_text("51件のうち51〜51件目")).to_be_visible()
    assert wcag_violations(page) == []
