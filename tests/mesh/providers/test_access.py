"""Only the providing tenant's gateway reaches its provider systems, and says who calls."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from conftest import SignIn
from kiban.core.sessions import SubjectKind
from kiban.mesh.providers.synthetic import seed_incomes
from kiban.residents.models import Resident
from mesh.providers.providers_support import DATA_SUBJECT, exchange_headers

Route = tuple[str, bool]  # a path of 千代田区's systems, and whether it is about one person


@pytest.fixture
def routes(db_session: Session, yamada: list[Resident]) -> list[Route]:
    number = yamada[0].addressee_number
    seed_incomes(db_session, ["131016"])
    base = "/mesh-providers/131016"
    return [
        (f"{base}/resident-certificate/v1/residents/{number}/certificate", True),
        (f"{base}/household/v1/residents/{number}/household", True),
        (f"{base}/tax-income-certificate/v1/residents/{number}/income?year=2025", True),
        (f"{base}/population-statistics/v1/age-bands?on=2025-01-01", False),
    ]


def test_the_tenants_gateway_is_answered_and_names_the_person_exactly_when_one_is_concerned(
    client: TestClient, chiyoda: dict[str, str], routes: list[Route], yamada: list[Resident]
) -> None:
    for path, about_one_person in routes:
        response = client.get(path, headers=chiyoda)
        assert response.status_code == 200, (path, response.text)
        if about_one_person:
            assert response.headers[DATA_SUBJECT] == yamada[0].addressee_number, path
        else:
            assert DATA_SUBJECT not in response.headers, path


def test_another_tenants_gateway_is_refused(
    client: TestClient, hachioji: dict[str, str], routes: list[Route]
) -> None:
    for path, _ in routes:
        response = client.get(path, headers=hachioji)
        assert response.status_code == 403, path
        assert response.headers["content-type"] == "application/problem+json"
        assert DATA_SUBJECT not in response.headers
        assert "山田" not in response.text


def test_a_valid_key_is_needed_before_anything_else(
    client: TestClient, chiyoda: dict[str, str], routes: list[Route]
) -> None:
    tampered = {**chiyoda, "Authorization": chiyoda["Authorization"][:-2] + "xx"}
    for headers in ({}, exchange_headers(), tampered, {**chiyoda, "Authorization": "Bearer x"}):
        for path, _ in routes:
            response = client.get(path, headers=headers)
            assert response.status_code == 401, (path, headers)
            assert response.headers["www-authenticate"] == "Bearer"


def test_the_tenants_staff_are_refused_as_they_would_bypass_the_mesh(
    client: TestClient, chiyoda: dict[str, str], routes: list[Route], sign_in: SignIn
) -> None:
    sign_in(SubjectKind.STAFF, "suzuki", tenant_code="131016", roles=["admin"])
    for path, _ in routes:
        response = client.get(path, headers=exchange_headers())
        assert response.status_code == 403, path
        assert "gateway" in response.json()["detail"]


@pytest.mark.parametrize(
    ("header", "value", "problem"),
    [
        ("Kiban-Client", None, "bad-request"),
        ("Kiban-Client", "JP/LG/011003/tax", "bad-request"),  # a wrong check digit
        ("Kiban-Id", None, "bad-request"),
        ("Kiban-Id", "not-a-uuid", "bad-request"),
    ],
)
def test_every_call_names_its_client_and_exchange(
    client: TestClient,
    chiyoda: dict[str, str],
    routes: list[Route],
    header: str,
    value: str | None,
    problem: str,
) -> None:
    headers = {name: text for name, text in chiyoda.items() if name != header}
    if value is not None:
        headers[header] = value
    for path, _ in routes:
        response = client.get(path, headers=headers)
        assert response.status_code == 400, path
        assert response.json()["type"].endswith(f"/mesh/{problem}")


@pytest.mark.parametrize(
    ("header", "problem"),
    [("Kiban-Purpose", "purpose-required"), ("Kiban-Legal-Basis", "legal-basis-required")],
)
def test_a_call_for_personal_data_says_what_for_and_why_by_law(
    client: TestClient, chiyoda: dict[str, str], routes: list[Route], header: str, problem: str
) -> None:
    headers = {name: text for name, text in chiyoda.items() if name != header}
    for path, about_one_person in routes:
        response = client.get(path, headers=headers)
        if about_one_person:
            assert response.status_code == 400, path
            assert response.json()["type"].endswith(f"/mesh/{problem}")
            assert DATA_SUBJECT not in response.headers
        else:
            assert response.status_code == 200, path
