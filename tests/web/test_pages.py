"""The public pages through HTTP: each renders, searches work, errors are pages, no scripts."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from httpx2 import Response

from kiban.core.access import ACCESS_DECLARATIONS, PublicAccess
from kiban.registry.addresses.normalizer import AddressNormalizer
from kiban.registry.addresses.pages import router as address_pages
from kiban.registry.localgov.pages import router as localgov_pages
from kiban.web.pages import router as home_page

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.fixture(autouse=True)
def _shared_normalizer(app: FastAPI, address_normalizer: AddressNormalizer) -> None:
    app.state.address_normalizer = address_normalizer


class _Outline(HTMLParser):
    """What a test needs to know of a page: its title, text, links and script elements."""

    def __init__(self) -> None:
        super().__init__()
        self.title = ""
        self.text: list[str] = []
        self.links: list[str] = []
        self.scripts = 0
        self.ids: list[str] = []
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self._in_title = tag == "title"
        self.scripts += tag == "script"
        if tag == "a" and attributes.get("href"):
            self.links.append(attributes["href"] or "")
        if attributes.get("id"):
            self.ids.append(attributes["id"] or "")

    def handle_endtag(self, tag: str) -> None:
        self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        self.text.append(data)


def outline(response: Response) -> _Outline:
    assert response.headers["content-type"].startswith("text/html")
    parsed = _Outline()
    parsed.feed(response.text)
    assert parsed.scripts == 0, "pages work without JavaScript"
    assert response.text.startswith("<!doctype html>")
    assert '<html lang="ja">' in response.text
    assert 'href="#main"' in response.text
    assert len(parsed.ids) == len(set(parsed.ids)), "ids are unique"
    return parsed


def text_of(page: _Outline) -> str:
    return re.sub(r"\s+", " ", "".join(page.text))


def test_home_says_what_kiban_is_and_links_onwards(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    page = outline(response)
    assert page.title.startswith("ホーム / Home")
    assert "国・地方デジタル共通基盤" in text_of(page)
    assert "書かない・待たない・迷わない・行かない" in text_of(page)
    assert {"/local-governments", "/address", "/docs", "/openapi.json"} <= set(page.links)


def test_pages_are_left_out_of_the_api_description(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not [path for path in paths if path == "/" or path.startswith(("/local-gov", "/addr"))]


@pytest.mark.parametrize("router", [home_page, localgov_pages, address_pages])
def test_every_page_declares_who_may_see_it(router: APIRouter) -> None:
    for route in router.routes:
        assert isinstance(route, APIRoute)
        assert {
            dependency.call for dependency in route.dependant.dependencies
        } & ACCESS_DECLARATIONS
        assert not route.include_in_schema


def test_an_unexpected_error_on_a_page_is_an_html_page_without_a_traceback(
    app: FastAPI, client: TestClient
) -> None:
    failing = APIRouter(dependencies=[PublicAccess], default_response_class=HTMLResponse)

    @failing.get("/failing-page")
    def failing_page() -> str:
        raise RuntimeError("secret detail")

    app.include_router(failing)
    response = client.get("/failing-page")
    assert response.status_code == 500
    assert outline(response).title.startswith("システムエラーが発生しました")
    assert "secret detail" not in response.text
    assert "Traceback" not in response.text


def test_static_assets_are_served(client: TestClient) -> None:
    assert client.get("/static/kiban.css").status_code == 200
    tokens = client.get("/static/vendor/digital-go-jp-design-tokens/tokens.css")
    assert "--color-primitive-blue-900" in tokens.text


def test_directory_lists_the_47_prefectures(client: TestClient) -> None:
    response = client.get("/local-governments")
    assert response.status_code == 200
    page = outline(response)
    assert page.title.startswith("地方公共団体一覧 / Local governments")
    prefecture_links = [
        link for link in page.links if re.fullmatch(r"/local-governments/\d\d0{3}\d", link)
    ]
    assert len(prefecture_links) == 47
    assert prefecture_links[0] == "/local-governments/010006"
    assert '<label class="field__label" for="q">' in response.text


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("千代田", "/local-governments/131016"),
        ("チヨダ", "/local-governments/131016"),
        ("１３１０１", "/local-governments/131016"),
        ("寒川", "/local-governments/143219"),
    ],
)
def test_search_by_name_reading_or_code(client: TestClient, query: str, expected: str) -> None:
    response = client.get("/local-governments", params={"q": query})
    assert response.status_code == 200
    page = outline(response)
    assert "検索結果" in page.title
    assert expected in page.links


def test_search_without_a_match_says_so(client: TestClient) -> None:
    page = outline(client.get("/local-governments", params={"q": "存在しない町"}))
    assert "に一致する団体はありません" in text_of(page)


@pytest.mark.parametrize(
    ("query", "message"),
    [("あ" * 65, "64文字以内で入力してください"), ("千代田\x00\x1b[31m", "制御文字は使えません")],
)
def test_bad_search_input_is_explained_at_the_field(
    client: TestClient, query: str, message: str
) -> None:
    response = client.get("/local-governments", params={"q": query}, headers=BROWSER)
    assert response.status_code == 422
    page = outline(response)
    assert page.title.startswith("エラー / Error")
    assert message in text_of(page)
    assert 'aria-describedby="q-hint q-error"' in response.text
    assert 'aria-invalid="true"' in response.text
    assert "\x00" not in response.text
    assert "\x1b" not in response.text


def test_prefecture_page_groups_its_municipalities(client: TestClient) -> None:
    response = client.get("/local-governments/140007")
    assert response.status_code == 200
    page = outline(response)
    assert page.title.startswith("神奈川県")
    text = text_of(page)
    for heading in ["政令指定都市", "市 Cities", "町村", "高座郡", "足柄上郡"]:
        assert heading in text
    links = page.links
    # 横浜市 comes with its wards nested under it, before the ordinary cities.
    yokohama, tsurumi, yokosuka = (
        links.index("/local-governments/141003"),
        links.index("/local-governments/141011"),
        links.index("/local-governments/142018"),
    )
    assert yokohama < tsurumi < yokosuka


def test_tokyo_lists_special_wards_and_island_villages(client: TestClient) -> None:
    page = outline(client.get("/local-governments/130001"))
    text = text_of(page)
    assert "特別区" in text
    assert "郡に属さない町村" in text
    assert "/local-governments/131016" in page.links
    assert "/local-governments/134210" in page.links  # 小笠原村


def test_municipality_page_shows_its_details_and_towns(client: TestClient) -> None:
    response = client.get("/local-governments/131016")
    assert response.status_code == 200
    page = outline(response)
    assert page.title.startswith("千代田区（東京都）")
    text = text_of(page)
    for expected in ["131016", "チヨダク", "特別区", "霞が関", "100-0013", "丸の内"]:
        assert expected in text
    assert "/local-governments/130001" in page.links


def test_ward_links_to_its_designated_city_and_the_city_to_its_wards(client: TestClient) -> None:
    ward = outline(client.get("/local-governments/271276"))
    assert "/local-governments/271004" in ward.links
    assert "梅田" in text_of(ward)
    city = outline(client.get("/local-governments/271004"))
    assert "/local-governments/271276" in city.links
    assert "行政区" in text_of(city)


def test_town_of_a_county_names_its_county(client: TestClient) -> None:
    text = text_of(outline(client.get("/local-governments/143219")))
    assert "寒川町" in text
    assert "高座郡" in text


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("999997", "999997 の地方公共団体はありません"),
        ("131017", "検査数字（6桁目）が正しくありません"),
        ("13101X", "6桁の数字です"),
        ("１３１０１６", "6桁の数字です"),
        ("1" * 300, "6桁の数字です"),
    ],
)
def test_unknown_code_is_an_html_404_page(client: TestClient, code: str, reason: str) -> None:
    response = client.get(f"/local-governments/{code}")
    assert response.status_code == 404
    page = outline(response)
    assert page.title.startswith("ページが見つかりません / Page not found")
    assert reason in text_of(page)
    assert "/local-governments" in page.links
    assert response.headers["x-request-id"] in response.text


def test_unknown_page_is_html_for_browsers_and_problem_json_for_programs(
    client: TestClient,
) -> None:
    page = client.get("/no-such-page", headers=BROWSER)
    assert page.status_code == 404
    assert outline(page).title.startswith("ページが見つかりません")
    program = client.get("/no-such-page")
    assert program.headers["content-type"] == "application/problem+json"
    api = client.get("/registry/no-such-api", headers=BROWSER)
    assert api.headers["content-type"] == "application/problem+json"


def test_api_errors_stay_problem_json_even_for_browsers(client: TestClient) -> None:
    response = client.get("/registry/local-governments/999997", headers=BROWSER)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_wrong_method_on_a_page_is_an_html_page(client: TestClient) -> None:
    response = client.post("/address")
    assert response.status_code == 405
    assert outline(response).title.startswith("この操作はできません")


def test_address_form_renders_empty(client: TestClient) -> None:
    response = client.get("/address")
    assert response.status_code == 200
    page = outline(response)
    assert page.title.startswith("住所検索 / Address lookup")
    assert '<label class="field__label" for="q">' in response.text
    assert "<dl" not in response.text


def test_address_lookup_shows_the_reading(client: TestClient) -> None:
    response = client.get("/address", params={"q": "東京都千代田区霞が関１－３－１"})
    assert response.status_code == 200
    page = outline(response)
    text = text_of(page)
    for expected in ["東京都", "千代田区", "霞が関一丁目", "3-1", "100-0013", "町字まで一致"]:
        assert expected in text
    assert "1.00" in text
    assert "/local-governments/131016" in page.links
    assert 'value="東京都千代田区霞が関１－３－１"' in response.text


def test_address_lookup_of_a_prefecture_only(client: TestClient) -> None:
    text = text_of(outline(client.get("/address", params={"q": "北海道"})))
    assert "都道府県まで一致" in text


def test_address_lookup_without_a_match_says_so(client: TestClient) -> None:
    text = text_of(outline(client.get("/address", params={"q": "Baker Street 221B"})))
    assert "住所を読み取れませんでした" in text
    assert "一致なし" in text


def test_over_long_address_is_explained_at_the_field(client: TestClient) -> None:
    response = client.get("/address", params={"q": "東京都" * 100})
    assert response.status_code == 422
    page = outline(response)
    assert "256文字以内で入力してください" in text_of(page)
    assert 'aria-invalid="true"' in response.text


def test_markup_in_input_is_shown_as_text(client: TestClient) -> None:
    response = client.get("/address", params={"q": '<script>alert("x")</script>'})
    assert response.status_code == 200
    assert "<script>" not in response.text
    assert "&lt;script&gt;" in response.text
