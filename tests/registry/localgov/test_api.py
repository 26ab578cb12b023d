"""The local-government registry through HTTP."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_get_by_code(client: TestClient) -> None:
    response = client.get("/registry/local-governments/271276")
    assert response.status_code == 200
    assert response.json() == {
        "code": "271276",
        "name": "大阪市北区",
        "kana": "オオサカシキタク",
        "kind": "ward",
        "prefecture_code": "270008",
        "parent_code": "271004",
        "county": None,
    }


def test_wrong_check_digit_is_named(client: TestClient) -> None:
    response = client.get("/registry/local-governments/131017")
    assert response.status_code == 422
    body = response.json()
    assert body["type"].endswith("/invalid-identifier")
    assert "check digit" in body["detail"]


def test_unknown_code_is_a_problem(client: TestClient) -> None:
    response = client.get("/registry/local-governments/999997")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 404
    assert body["type"].endswith("/not-found")
    assert "999997" in body["detail"]


def test_malformed_code_is_a_validation_problem(client: TestClient) -> None:
    response = client.get("/registry/local-governments/13101X")
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["location"] == ["path", "code"]


def test_search_by_name_and_kind(client: TestClient) -> None:
    response = client.get(
        "/registry/local-governments", params={"q": "千代田", "kind": "special_ward"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 1
    assert body["items"][0]["code"] == "131016"


def test_wards_of_a_designated_city(client: TestClient) -> None:
    response = client.get("/registry/local-governments", params={"parent": "271004", "limit": 50})
    body = response.json()
    assert body["total"] == 24
    assert {item["kind"] for item in body["items"]} == {"ward"}


def test_municipalities_of_a_prefecture_are_paged(client: TestClient) -> None:
    first = client.get(
        "/registry/local-governments", params={"prefecture": "130001", "limit": 10}
    ).json()
    second = client.get(
        "/registry/local-governments", params={"prefecture": "130001", "limit": 10, "offset": 10}
    ).json()
    # 東京都 itself, 23 special wards, 26 cities, 13 towns and villages
    assert first["total"] == second["total"] == 63
    assert {i["code"] for i in first["items"]}.isdisjoint({i["code"] for i in second["items"]})


def test_limit_out_of_range_is_rejected(client: TestClient) -> None:
    response = client.get("/registry/local-governments", params={"limit": 0})
    assert response.status_code == 422
