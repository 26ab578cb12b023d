"""The population-statistics service: counts of residents on a day, and nothing else."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient

from kiban.residents.codes import Relationship, Sex
from kiban.residents.models import Resident
from kiban.residents.schemas import AddressIn, DeathIn, MovingOutIn
from kiban.residents.service import ResidentService, japan_today
from mesh.providers.providers_support import DATA_SUBJECT, YAMADA, Member, MoveIn

AGE_BANDS = "/mesh-providers/{tenant}/population-statistics/v1/age-bands"
ON = date(2025, 1, 1)


def _person(born: date, sex: Sex) -> Member:
    return Member(YAMADA, ("花子", "ハナコ"), born, sex, Relationship.HEAD)


def _moving_out(on: date) -> MovingOutIn:
    return MovingOutIn(
        destination=AddressIn(lg_code="132012", town_name="明神町一丁目", banchi="4-7"),
        occurred_on=on,
        notified_on=on,
    )


@pytest.fixture
def population(move_in: MoveIn, records: ResidentService) -> list[Resident]:
    """Residents of 千代田区 and one of 八王子市, some of whom do not count on 2025-01-01."""
    counted = [
        move_in(_person(date(2020, 1, 1), Sex.MALE))[0],  # 5 on the day: 5–9
        move_in(_person(date(2020, 1, 2), Sex.FEMALE))[0],  # 4 until the next day: 0–4
        move_in(_person(date(1980, 2, 29), Sex.MALE))[0],  # 44: 40–44
        move_in(_person(date(1926, 1, 2), Sex.MALE))[0],  # 98: 95–99
        move_in(_person(date(1925, 1, 1), Sex.FEMALE))[0],  # 100: 100 and more
    ]
    leaves_after = move_in(_person(date(1990, 6, 1), Sex.FEMALE))[0]  # 34: 30–34
    records.move_out(leaves_after.addressee_number, _moving_out(date(2025, 1, 2)))
    counted.append(leaves_after)
    left_that_day = move_in(_person(date(1990, 6, 1), Sex.MALE))[0]
    records.move_out(left_that_day.addressee_number, _moving_out(ON))
    died_before = move_in(_person(date(1940, 3, 3), Sex.MALE))[0]
    records.record_death(
        died_before.addressee_number,
        DeathIn(occurred_on=date(2024, 12, 31), notified_on=date(2025, 1, 4)),
    )
    move_in(_person(date(1970, 1, 1), Sex.FEMALE), on=date(2025, 1, 2))  # came the day after
    move_in(
        _person(date(1970, 1, 1), Sex.FEMALE),
        tenant="132012",
        lg_code="132012",
        town="明神町一丁目",
    )
    return counted


def test_residents_on_the_day_are_counted_by_age_band_and_sex(
    client: TestClient, chiyoda: dict[str, str], population: list[Resident]
) -> None:
    response = client.get(
        AGE_BANDS.format(tenant="131016"), params={"on": ON.isoformat()}, headers=chiyoda
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["lg_code"], body["on"], body["total"]) == ("131016", "2025-01-01", 6)
    bands = body["bands"]
    assert [(band["from_age"], band["to_age"]) for band in bands] == [
        *((start, start + 4) for start in range(0, 100, 5)),
        (100, None),
    ]
    counts = {band["from_age"]: (band["male"], band["female"]) for band in bands if band["total"]}
    assert counts == {0: (0, 1), 5: (1, 0), 30: (0, 1), 40: (1, 0), 95: (1, 0), 100: (0, 1)}
    assert all(band["total"] == band["male"] + band["female"] for band in bands)


def test_the_answer_carries_no_personal_data(
    client: TestClient, chiyoda: dict[str, str], population: list[Resident]
) -> None:
    response = client.get(
        AGE_BANDS.format(tenant="131016"), params={"on": ON.isoformat()}, headers=chiyoda
    )
    assert DATA_SUBJECT not in response.headers
    assert set(response.json()) == {"lg_code", "on", "total", "bands"}
    assert all(
        set(band) == {"from_age", "to_age", "male", "female", "total"}
        for band in response.json()["bands"]
    )
    for resident in population:
        for personal in (
            resident.addressee_number,
            resident.birth_date.isoformat(),
            resident.family_name,
            resident.given_name_kana,
        ):
            assert personal not in response.text


def test_no_personal_data_is_needed_to_call_it(
    client: TestClient, chiyoda: dict[str, str], population: list[Resident]
) -> None:
    statistics = {
        key: value
        for key, value in chiyoda.items()
        if key not in ("Kiban-Purpose", "Kiban-Legal-Basis", "Kiban-UserId")
    }
    statistics["Kiban-Client"] = "JP/GOV/2000012020001/statistics"
    response = client.get(
        AGE_BANDS.format(tenant="131016"), params={"on": ON.isoformat()}, headers=statistics
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"on": "2025-02-30"},
        {"on": "令和7年1月1日"},
        {"on": (japan_today() + timedelta(days=1)).isoformat()},
    ],
)
def test_the_day_is_checked(
    client: TestClient, chiyoda: dict[str, str], params: dict[str, str]
) -> None:
    response = client.get(AGE_BANDS.format(tenant="131016"), params=params, headers=chiyoda)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


def test_today_is_a_day_that_has_come(client: TestClient, chiyoda: dict[str, str]) -> None:
    response = client.get(
        AGE_BANDS.format(tenant="131016"), params={"on": japan_today().isoformat()}, headers=chiyoda
    )
    assert response.status_code == 200
    assert response.json()["total"] == 0
