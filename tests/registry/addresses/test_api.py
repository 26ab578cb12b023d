"""The address registry through HTTP."""

from __future__ import annotations

import time

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from kiban.app import create_app
from kiban.core.config import Settings
from kiban.registry.addresses.normalizer import AddressNormalizer


@pytest.fixture(autouse=True)
def _shared_normalizer(app: FastAPI, address_normalizer: AddressNormalizer) -> None:
    app.state.address_normalizer = address_normalizer


def test_normalize_an_address(client: TestClient) -> None:
    response = client.get(
        "/registry/addresses/normalize", params={"q": "東京都千代田区霞が関１－３－１"}
    )
    assert response.status_code == 200
    assert response.json() == {
        "input": "東京都千代田区霞が関１－３－１",
        "pref": "東京都",
        "city": "千代田区",
        "lg_code": "131016",
        "town": "霞が関一丁目",
        "rest": "3-1",
        "postal_code": "1000013",
        "level": 3,
        "score": 1.0,
    }


@pytest.mark.parametrize(
    "junk", ["", "\x00\x01\x1b[31m", "🙂🙂🙂", "Baker Street 221B", "あ" * 3_000]
)
def test_junk_is_level_zero_not_an_error(client: TestClient, junk: str) -> None:
    response = client.get("/registry/addresses/normalize", params={"q": junk})
    assert response.status_code == 200
    assert response.json()["level"] == 0


def test_missing_query_is_a_problem(client: TestClient) -> None:
    response = client.get("/registry/addresses/normalize")
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["location"] == ["query", "q"]


def test_an_over_long_query_is_refused(client: TestClient) -> None:
    response = client.get("/registry/addresses/normalize", params={"q": "x" * 10_241})
    assert response.status_code == 422


def test_towns_of_a_postal_code(client: TestClient) -> None:
    response = client.get("/registry/addresses/postal-codes/100-0013")
    assert response.status_code == 200
    towns = response.json()
    assert [(t["lg_code"], t["name"], t["has_chome"]) for t in towns] == [
        ("131016", "霞が関", True)
    ]


def test_unknown_postal_code_is_not_found(client: TestClient) -> None:
    assert client.get("/registry/addresses/postal-codes/0000000").status_code == 404
    assert client.get("/registry/addresses/postal-codes/12a4567").status_code == 422


def test_the_server_builds_the_index_as_it_starts(settings: Settings, engine: Engine) -> None:
    app = create_app(settings.model_copy(update={"preload_registry": True}), engine)
    with TestClient(app):
        deadline = time.monotonic() + 60
        while getattr(app.state, "address_normalizer", None) is None:
            assert time.monotonic() < deadline, "the address index was not built at start-up"
            time.sleep(0.05)
        preloaded = app.state.address_normalizer
        result = preloaded.normalize("東京都千代田区霞が関１－３－１")
    assert result.lg_code == "131016"
