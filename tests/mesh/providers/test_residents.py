"""The resident-certificate and household services, as a gateway calls them."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from kiban.residents.codes import Relationship, Sex
from kiban.residents.models import Resident
from kiban.residents.schemas import AddressIn, DeathIn, MovingOutIn
from kiban.residents.service import ResidentService
from mesh.providers.providers_support import (
    DATA_SUBJECT,
    YAMADA,
    Member,
    MoveIn,
    gateway_headers,
)

CERTIFICATE = "/mesh-providers/{tenant}/resident-certificate/v1/residents/{number}/certificate"
HOUSEHOLD = "/mesh-providers/{tenant}/household/v1/residents/{number}/household"


def test_the_certificate_holds_the_items_of_the_resident_record(
    client: TestClient, chiyoda: dict[str, str], yamada: list[Resident]
) -> None:
    taro, hanako, _ichiro = yamada
    response = client.get(
        CERTIFICATE.format(tenant="131016", number=hanako.addressee_number), headers=chiyoda
    )
    assert response.status_code == 200, response.text
    assert response.headers[DATA_SUBJECT] == hanako.addressee_number
    assert response.json() == {
        "addressee_number": hanako.addressee_number,
        "name": {
            "family_name": "山田",
            "given_name": "花子",
            "family_name_kana": "ヤマダ",
            "given_name_kana": "ハナコ",
        },
        "birth_date": "1978-02-03",
        "sex": "2",
        "head_of_household": {
            "family_name": "山田",
            "given_name": "太郎",
            "family_name_kana": "ヤマダ",
            "given_name_kana": "タロウ",
        },
        "relationship": "妻",
        "address": {
            "lg_code": "131016",
            "prefecture": "東京都",
            "city": "千代田区",
            "town_name": "霞が関一丁目",
            "banchi": "1-3",
            "katagaki": None,
            "text": "東京都千代田区霞が関一丁目1-3",
        },
        "became_resident_on": "2020-04-01",
        "address_set_on": "2020-04-01",
        "notified_on": "2020-04-01",
    }
    head = client.get(
        CERTIFICATE.format(tenant="131016", number=taro.addressee_number), headers=chiyoda
    ).json()
    assert (head["relationship"], head["head_of_household"]["given_name"]) == ("世帯主", "太郎")
    for personal in ("resident_record_code", "personal_number", "personal_number_hash"):
        assert personal not in response.text


def test_a_ward_of_a_designated_city_is_named_with_its_city(
    client: TestClient, db_session: Session, move_in: MoveIn
) -> None:
    osaka = gateway_headers(db_session, "271004")
    (resident,) = move_in(
        Member(YAMADA, ("次郎", "ジロウ"), date(1990, 1, 1), Sex.MALE, Relationship.HEAD),
        tenant="271004",
        lg_code="271021",
        town="都島本通一丁目",
    )
    address = client.get(
        CERTIFICATE.format(tenant="271004", number=resident.addressee_number), headers=osaka
    ).json()["address"]
    assert (address["lg_code"], address["prefecture"], address["city"]) == (
        "271021",
        "大阪府",
        "大阪市都島区",
    )


def test_the_household_lists_its_current_members_head_first(
    client: TestClient, chiyoda: dict[str, str], records: ResidentService, yamada: list[Resident]
) -> None:
    taro, hanako, ichiro = yamada
    records.record_death(
        taro.addressee_number, DeathIn(occurred_on=date(2025, 5, 1), notified_on=date(2025, 5, 2))
    )
    response = client.get(
        HOUSEHOLD.format(tenant="131016", number=ichiro.addressee_number), headers=chiyoda
    )
    assert response.status_code == 200, response.text
    assert response.headers[DATA_SUBJECT] == ichiro.addressee_number
    body = response.json()
    assert body["addressee_number"] == ichiro.addressee_number
    assert [(m["addressee_number"], m["relationship"]) for m in body["members"]] == [
        (hanako.addressee_number, "妻"),
        (ichiro.addressee_number, "子"),
    ]
    assert body["members"][1]["name"]["given_name"] == "一郎"
    # With its head deceased, the household has no head until one is recorded.
    certificate = client.get(
        CERTIFICATE.format(tenant="131016", number=hanako.addressee_number), headers=chiyoda
    ).json()
    assert certificate["head_of_household"] is None


@pytest.mark.parametrize("path", [CERTIFICATE, HOUSEHOLD])
def test_a_person_who_is_no_longer_a_resident_is_not_found(
    client: TestClient,
    chiyoda: dict[str, str],
    records: ResidentService,
    yamada: list[Resident],
    path: str,
) -> None:
    hanako = yamada[1]
    records.move_out(
        hanako.addressee_number,
        MovingOutIn(
            destination=AddressIn(lg_code="132012", town_name="明神町一丁目", banchi="4-7"),
            occurred_on=date(2025, 6, 1),
            notified_on=date(2025, 6, 1),
        ),
    )
    response = client.get(
        path.format(tenant="131016", number=hanako.addressee_number), headers=chiyoda
    )
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert DATA_SUBJECT not in response.headers
    assert hanako.addressee_number not in response.json()["detail"]
    assert "山田" not in response.text


@pytest.mark.parametrize("path", [CERTIFICATE, HOUSEHOLD])
@pytest.mark.parametrize(
    ("number", "status"),
    [
        ("0000000992", 404),  # valid, but nobody's
        ("0000000011", 422),  # wrong check digit
        ("12345", 422),
        ("000000001X", 422),
    ],
)
def test_numbers_are_checked_and_unknown_ones_not_found(
    client: TestClient,
    chiyoda: dict[str, str],
    yamada: list[Resident],
    path: str,
    number: str,
    status: int,
) -> None:
    response = client.get(path.format(tenant="131016", number=number), headers=chiyoda)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert DATA_SUBJECT not in response.headers
