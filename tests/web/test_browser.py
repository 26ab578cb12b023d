"""End to end: the real pages served by uvicorn, in Debian's Chromium through Playwright.

The browser runs with JavaScript disabled for the journeys, as the pages promise to work
without it; axe-core (vendored under ``vendor/``, for tests only) needs it to check them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import Engine

from accessibility import AXE, wcag_violations
from kiban.app import create_app
from kiban.core.config import Settings
from kiban.registry.addresses.normalizer import AddressNormalizer
from live_server import listen, serving

# The pages run against the migrated SQLite test database only: what is checked here is the
# browser's view, which does not depend on the database.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


@pytest.fixture(scope="session")
def live_server(
    engine: Engine, address_normalizer: AddressNormalizer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The app served by uvicorn on a free port of 127.0.0.1, in a background thread."""
    settings = Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        data_dir=tmp_path_factory.mktemp("live-server"),
        log_format="console",
        log_level="warning",
    )
    app = create_app(settings, engine)
    app.state.address_normalizer = address_normalizer
    listener, url = listen()
    with serving(app, listener):
        yield url


@pytest.fixture
def page(browser: Browser, live_server: str) -> Iterator[Page]:
    """A page with JavaScript disabled, as someone might browse."""
    context = browser.new_context(base_url=live_server, java_script_enabled=False)
    yield context.new_page()
    context.close()


@pytest.fixture(scope="session")
def axe_page(browser: Browser, live_server: str) -> Iterator[Page]:
    """One page for every check, with axe-core loaded before each document: it is large."""
    context = browser.new_context(base_url=live_server)
    context.add_init_script(path=AXE)
    yield context.new_page()
    context.close()


def tab_to(page: Page, name: str, *, limit: int = 150) -> None:
    """Press Tab until the focused element's text, its white space collapsed, is ``name``."""
    focused = page.locator(":focus")
    for _ in range(limit):
        page.keyboard.press("Tab")
        if focused.count() and " ".join(focused.inner_text().split()) == name:
            return
    raise AssertionError(f"{name!r} is not reachable with Tab")


def test_keyboard_only_from_home_to_a_municipality(page: Page) -> None:
    page.goto("/")
    page.keyboard.press("Tab")
    skip_link = page.locator(":focus")
    expect(skip_link).to_have_attribute("href", "#main")
    expect(skip_link).to_be_in_viewport()  # shown once focused

    tab_to(page, "地方公共団体 Local governments")
    focused = page.locator(":focus")
    # The focus indicator of the design system: a 4px black outline.
    assert focused.evaluate("e => getComputedStyle(e).outlineWidth") == "4px"
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/local-governments$"))
    expect(page.locator("h1")).to_contain_text("地方公共団体一覧")

    tab_to(page, "東京都")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/local-governments/130001$"))
    expect(page.locator("h1")).to_contain_text("東京都")

    tab_to(page, "千代田区")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/local-governments/131016$"))
    expect(page.locator("h1")).to_contain_text("千代田区")
    expect(page.get_by_role("cell", name="100-0013")).to_be_visible()


def test_look_up_an_address(page: Page) -> None:
    page.goto("/address")
    page.get_by_label("住所 Address").fill("東京都千代田区霞が関１－３－１")
    page.keyboard.press("Enter")
    result = page.locator("dl.result")
    expect(result).to_contain_text("霞が関一丁目")
    expect(result).to_contain_text("131016")
    expect(result).to_contain_text("町字まで一致")
    result.get_by_role("link", name="131016").click()
    expect(page.locator("h1")).to_contain_text("千代田区")


def test_search_the_directory(page: Page) -> None:
    page.goto("/local-governments")
    page.get_by_label("団体を検索 Search local governments").fill("サムカワ")
    page.get_by_role("button", name="検索 Search").click()
    page.get_by_role("link", name="高座郡寒川町").click()
    expect(page.locator("h1")).to_contain_text("寒川町")


def test_an_error_is_shown_at_its_field(page: Page) -> None:
    page.goto("/local-governments?q=" + "あ" * 65)
    field = page.get_by_label("団体を検索 Search local governments")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_accessible_description(
        "名称・よみ（カタカナ）・団体コードの先頭で探せます。例：千代田、チヨダ、131 / "
        "Name, reading in katakana, or the start of the code. "
        "エラー Error：64文字以内で入力してください。 / Enter no more than 64 characters."
    )


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/local-governments?q=千代田",
        "/local-governments?q=" + "x" * 65,
        "/local-governments/140007",
        "/local-governments/143219",  # a town's page: same layout as 千代田区's, fewer rows
        "/local-governments/271004",
        "/address?q=東京都千代田区霞が関１－３－１",
        "/address?q=Baker Street",
        "/no-such-page",
    ],
)
def test_no_wcag_21_aa_violations(axe_page: Page, path: str) -> None:
    axe_page.goto(path)
    assert wcag_violations(axe_page) == []
