"""Resident records through HTTP: tenant API keys, problem details, no personal data in logs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import structlog.testing
from fastapi.testclient import TestClient

MovingInJson = Callable[..., dict[str, Any]]
CHIYODA_RESIDENTS = "/tenants/131016/residents"


def _move_in(client: TestClient, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"{CHIYODA_RESIDENTS}/moving-ins", json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def test_moving_in_then_read_the_person_with_household_and_history(
    client: TestClient, chiyoda: dict[str, str], moving_in_json: MovingInJson
) -> None:
    created = _move_in(client, chiyoda, moving_in_json())
    assert created["family_name_kana"] == "ヤマダ"  # typed in hiragana
    assert created["given_name_kana"] == "ハナコ"  # typed in half-width katakana
    assert "personal_number" not in created
    assert "personal_number_hash" not in created
    number = created["addressee_number"]
    person = client.get(f"{CHIYODA_RESIDENTS}/{number}", headers=chiyoda).json()
    assert person["status"] == "resident"
    assert person["address"] == {
        "lg_code": "131016",
        "town_name": "霞が関一丁目",
        "banchi": "1-3",
        "katagaki": None,
    }
    assert person["household"]["head_addressee_number"] == number
    assert [m["kind"] for m in person["movements"]] == ["moving_in"]
    household = client.get(
        f"/tenants/131016/households/{person['household_number']}", headers=chiyoda
    ).json()
    assert [member["addressee_number"] for member in household["members"]] == [number]


def test_relocation_and_moving_out_through_http(
    client: TestClient, chiyoda: dict[str, str], moving_in_json: MovingInJson
) -> None:
    number = _move_in(client, chiyoda, moving_in_json())["addressee_number"]
    relocated = client.post(
        f"{CHIYODA_RESIDENTS}/{number}/relocations",
        json={
            "address": {"lg_code": "131016", "town_name": "千代田", "banchi": "1-1"},
            "occurred_on": "2025-01-10",
            "notified_on": "2025-01-14",
        },
        headers=chiyoda,
    )
    assert relocated.status_code == 201
    moved_out = client.post(
        f"{CHIYODA_RESIDENTS}/{number}/moving-outs",
        json={
            "destination": {"lg_code": "132012", "town_name": "明神町一丁目", "banchi": "4-7"},
            "occurred_on": "2025-03-01",
            "notified_on": "2025-02-20",
        },
        headers=chiyoda,
    ).json()
    assert (moved_out["status"], moved_out["removed_on"]) == ("moved_out", "2025-03-01")
    assert [m["kind"] for m in moved_out["movements"]] == [
        "moving_in",
        "relocation",
        "moving_out",
    ]


def test_search_by_reading_and_birth_date(
    client: TestClient, chiyoda: dict[str, str], moving_in_json: MovingInJson
) -> None:
    _move_in(client, chiyoda, moving_in_json())
    for params in (
        {"kana": "ヤマ"},
        {"kana": "やまだ　はな"},
        {"birth_date": "1980-05-01"},
        {"kana": "ヤマダ", "birth_date": "1980-05-01"},
    ):
        body = client.get(CHIYODA_RESIDENTS, params=params, headers=chiyoda).json()
        assert body["total"] == 1, params
        assert body["items"][0]["given_name"] == "花子"
    for params in ({"kana": "ヤマダ タロウ"}, {"birth_date": "1980-05-02"}):
        assert client.get(CHIYODA_RESIDENTS, params=params, headers=chiyoda).json()["total"] == 0


@pytest.mark.parametrize(
    ("path", "params"),
    [
        (CHIYODA_RESIDENTS, {}),  # no criterion
        (CHIYODA_RESIDENTS, {"birth_date": "1980-13-01"}),
        (CHIYODA_RESIDENTS, {"kana": "ヤマダ", "limit": "1000"}),
        (f"{CHIYODA_RESIDENTS}/0000000011", {}),  # wrong check digit
        (f"{CHIYODA_RESIDENTS}/12345", {}),
        ("/tenants/131016/households/000000001X", {}),
    ],
)
def test_bad_queries_are_422_problems(
    client: TestClient, chiyoda: dict[str, str], path: str, params: dict[str, str]
) -> None:
    response = client.get(path, params=params, headers=chiyoda)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "changes",
    [
        {"personal_number": "123456789013"},  # wrong check digit
        {"resident_record_code": "00000000010"},
        {"person": {"family_name": "山田"}},
        {"address": {"lg_code": "131017", "town_name": "千代田", "banchi": "1"}},
        {"address": {"lg_code": "131016", "town_name": "千代田", "banchi": "一の一"}},
        {"household": {"relationship": "上司"}},
        {"notified_on": "2024-03-01"},  # before the move
        {"address": {"lg_code": "132012", "town_name": "明神町一丁目", "banchi": "1"}},
    ],
)
def test_bad_notifications_are_422_problems_that_write_nothing(
    client: TestClient,
    chiyoda: dict[str, str],
    moving_in_json: MovingInJson,
    changes: dict[str, Any],
) -> None:
    response = client.post(
        f"{CHIYODA_RESIDENTS}/moving-ins", json=moving_in_json(**changes), headers=chiyoda
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert "123456789013" not in response.text
    found = client.get(CHIYODA_RESIDENTS, params={"kana": "ヤマダ"}, headers=chiyoda).json()
    assert found["total"] == 0


def _routes(addressee_number: str, household_number: str, tenant: str) -> list[tuple[str, str]]:
    base = f"/tenants/{tenant}"
    return [
        ("GET", f"{base}/residents?kana=ヤマダ"),
        ("GET", f"{base}/residents/{addressee_number}"),
        ("GET", f"{base}/households/{household_number}"),
        ("POST", f"{base}/residents/births"),
        ("POST", f"{base}/residents/moving-ins"),
        ("POST", f"{base}/residents/{addressee_number}/relocations"),
        ("POST", f"{base}/residents/{addressee_number}/moving-outs"),
        ("POST", f"{base}/residents/{addressee_number}/deaths"),
    ]


def test_every_route_refuses_another_tenants_key(
    client: TestClient,
    chiyoda: dict[str, str],
    hachioji: dict[str, str],
    moving_in_json: MovingInJson,
) -> None:
    created = _move_in(client, chiyoda, moving_in_json())
    routes = _routes(created["addressee_number"], created["household_number"], "131016")
    for method, path in routes:
        response = client.request(method, path, headers=hachioji, json={})
        assert response.status_code == 403, (method, path)
        assert response.headers["content-type"] == "application/problem+json"
        assert "山田" not in response.text


def test_every_route_needs_a_valid_key(
    client: TestClient, chiyoda: dict[str, str], moving_in_json: MovingInJson
) -> None:
    created = _move_in(client, chiyoda, moving_in_json())
    routes = _routes(created["addressee_number"], created["household_number"], "131016")
    tampered = {"Authorization": chiyoda["Authorization"][:-2] + "xx"}
    for headers in ({}, tampered, {"Authorization": "Bearer nonsense"}):
        for method, path in routes:
            response = client.request(method, path, headers=headers, json={})
            assert response.status_code == 401, (method, path, headers)
            assert response.headers["www-authenticate"] == "Bearer"


def test_a_resident_of_another_tenant_is_not_found_with_ones_own_key(
    client: TestClient,
    chiyoda: dict[str, str],
    hachioji: dict[str, str],
    moving_in_json: MovingInJson,
) -> None:
    created = _move_in(client, chiyoda, moving_in_json())
    response = client.get(
        f"/tenants/132012/residents/{created['addressee_number']}", headers=hachioji
    )
    assert response.status_code == 404


def test_logs_carry_no_personal_data(
    client: TestClient, chiyoda: dict[str, str], moving_in_json: MovingInJson
) -> None:
    with structlog.testing.capture_logs() as entries:
        created = _move_in(client, chiyoda, moving_in_json())
        client.get(CHIYODA_RESIDENTS, params={"kana": "ヤマダ ハナコ"}, headers=chiyoda)
        client.get(f"{CHIYODA_RESIDENTS}/{created['addressee_number']}", headers=chiyoda)
        client.post(
            f"{CHIYODA_RESIDENTS}/moving-ins",
            json=moving_in_json(personal_number="123456789013"),
            headers=chiyoda,
        )
    logs = "\n".join(repr(entry) for entry in entries)
    # Requests are logged by route template, so no identifier in a path reaches the log.
    assert "/tenants/{tenant_code}/residents/{addressee_number}" in logs
    for personal in ("123456789018", "123456789013", "山田", "ヤマダ", "ハナコ", "1980-05-01"):
        assert personal not in logs
    assert created["resident_record_code"] not in logs
    assert created["addressee_number"] not in logs
