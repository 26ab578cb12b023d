"""The corporation registry through HTTP: lookups, reasons for refusal, search and paging."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from kiban.registry.corporations.models import Corporation

from .conftest import COMPANIES


def _a_company(session: Session, kind: str = "301") -> Corporation:
    statement = select(Corporation).where(Corporation.kind == kind).order_by(Corporation.number)
    corporation = session.scalars(statement).first()
    assert corporation is not None
    return corporation


def test_get_by_number(client: TestClient, seeded: int) -> None:
    response = client.get("/registry/corporations/8000020131016")
    assert response.status_code == 200
    body = response.json()
    assert {key: body[key] for key in ("number", "name", "kana", "kind", "kind_name")} == {
        "number": "8000020131016",
        "name": "千代田区",
        "kana": "チヨダク",
        "kind": "201",
        "kind_name": "地方公共団体",
    }
    address = body["address"]
    assert (address["lg_code"], address["prefecture"], address["city"]) == (
        "131016",
        "東京都",
        "千代田区",
    )
    assert address["text"] == f"東京都千代田区{address['town']}{address['banchi']}"
    assert body["synthetic"] is True
    assert body["updated_at"].endswith(("Z", "+00:00"))


def test_a_town_s_address_names_its_county(client: TestClient, seeded: int) -> None:
    body = client.get("/registry/corporations/7000020143219").json()
    assert body["address"]["city"] == "高座郡寒川町"
    assert body["address"]["text"].startswith("神奈川県高座郡寒川町")


def test_a_company(client: TestClient, db_session: Session, seeded: int) -> None:
    company = _a_company(db_session)
    body = client.get(f"/registry/corporations/{company.number}").json()
    assert (body["name"], body["kana"], body["kind_name"]) == (
        company.name,
        company.kana,
        "株式会社",
    )
    assert company.established_on is not None
    assert body["established_on"] == company.established_on.isoformat()


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("1123456789012", "check digit (the first digit) is 1, expected 7"),
        ("712345678901", "must be 13 digits, got 12"),
        ("71234567890123", "must be 13 digits, got 14"),
        ("712345678901X", "must contain only the digits 0-9"),
        ("７１２３４５６７８９０１２", "must contain only the digits 0-9"),
    ],
)
def test_a_malformed_number_is_refused_with_the_reason(
    client: TestClient, number: str, reason: str
) -> None:
    response = client.get(f"/registry/corporations/{number}")
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"].endswith("/invalid-identifier")
    assert body["title"].startswith("法人番号が不正です")
    assert body["detail"] == f"法人番号 (corporate number): {reason}"


def test_an_unknown_number_is_not_found(client: TestClient, seeded: int) -> None:
    response = client.get("/registry/corporations/7123456789012")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"].endswith("/not-found")
    assert "7123456789012" in body["detail"]


def test_search_by_part_of_the_name(client: TestClient, db_session: Session, seeded: int) -> None:
    company = _a_company(db_session)
    part = company.name.replace("株式会社", "")
    body = client.get("/registry/corporations", params={"q": part}).json()
    assert company.number in {item["number"] for item in body["items"]}
    assert all(part in item["name"] for item in body["items"])


def test_search_by_the_start_of_the_reading_in_katakana_or_hiragana(
    client: TestClient, seeded: int
) -> None:
    katakana = client.get("/registry/corporations", params={"q": "サムカワ"}).json()
    hiragana = client.get("/registry/corporations", params={"q": "さむかわ"}).json()
    half_width = client.get("/registry/corporations", params={"q": "ｻﾑｶﾜ"}).json()
    assert katakana == hiragana == half_width
    assert "7000020143219" in {item["number"] for item in katakana["items"]}
    assert all(item["kana"].startswith("サムカワ") for item in katakana["items"])


def test_search_within_an_area(client: TestClient, seeded: int) -> None:
    osaka = client.get("/registry/corporations", params={"lg_code": "271004", "limit": 1000}).json()
    wards = {item["address"]["lg_code"] for item in osaka["items"]}
    assert osaka["total"] == len(osaka["items"]) > 1
    assert all(code.startswith("271") and code != "271004" for code in wards)
    ward = sorted(wards)[0]
    in_ward = client.get("/registry/corporations", params={"lg_code": ward}).json()
    assert 0 < in_ward["total"] < osaka["total"]
    tokyo = client.get("/registry/corporations", params={"lg_code": "130001"}).json()
    chiyoda = client.get("/registry/corporations", params={"lg_code": "131016"}).json()
    assert tokyo["total"] == chiyoda["total"] > 0


def test_search_by_kind(client: TestClient, seeded: int) -> None:
    body = client.get("/registry/corporations", params={"kind": ["201", "305"]}).json()
    assert {item["kind"] for item in body["items"]} <= {"201", "305"}
    assert len([item for item in body["items"] if item["kind"] == "201"]) == 3


def test_search_pages_in_kana_order(client: TestClient, seeded: int) -> None:
    first = client.get("/registry/corporations", params={"limit": 50}).json()
    second = client.get("/registry/corporations", params={"limit": 50, "offset": 50}).json()
    assert first["total"] == second["total"] == COMPANIES + 3
    assert len(first["items"]) == 50
    assert len(second["items"]) == COMPANIES + 3 - 50
    readings = [item["kana"] for item in first["items"] + second["items"]]
    assert readings == sorted(readings)


def test_like_wildcards_are_taken_literally(client: TestClient, seeded: int) -> None:
    assert client.get("/registry/corporations", params={"q": "%"}).json()["total"] == 0
    assert client.get("/registry/corporations", params={"q": "_"}).json()["total"] == 0


@pytest.mark.parametrize(
    "params",
    [{"lg_code": "13101"}, {"kind": "300"}, {"limit": 0}, {"offset": -1}, {"q": "x" * 65}],
)
def test_bad_search_parameters_are_refused(
    client: TestClient, params: dict[str, str | int]
) -> None:
    response = client.get("/registry/corporations", params=params)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


def test_the_routes_are_described(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/registry/corporations", "/registry/corporations/{number}"} <= set(paths)
