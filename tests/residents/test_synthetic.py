"""The synthetic population: deterministic, valid, plausible, on real towns."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

import pytest
from faker.providers.person.ja_JP import Provider as JapaneseNames
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from kiban.core.crypto import PersonalNumberHasher
from kiban.core.identifiers import (
    validate_addressee_number,
    validate_personal_number,
    validate_resident_record_code,
)
from kiban.core.tenancy import Tenant
from kiban.registry.addresses.models import Town
from kiban.registry.localgov.models import LocalGovernment
from kiban.registry.synthetic import split_evenly
from kiban.residents.models import Household, Resident, ResidentMovement
from kiban.residents.service import numbered
from kiban.residents.synthetic import (
    DEMO_MUNICIPALITIES,
    DEMO_RESIDENTS,
    REFERENCE_DATE,
    SeedError,
    fast_numbered,
    seed_demo,
    seed_population,
)
from kiban.tenants.service import TenantError

_CHOME = re.compile(r"[一二三四五六七八九十]+丁目$")


class RecordingHasher(PersonalNumberHasher):
    """Remembers the personal numbers it hashed, so that the test can check them."""

    def __init__(self) -> None:
        super().__init__(b"key for the tests")
        self.numbers: list[str] = []

    def hash(self, personal_number: str) -> str:
        self.numbers.append(personal_number)
        return super().hash(personal_number)


def _rows(session: Session, tenants: Sequence[str]) -> list[list[tuple[Any, ...]]]:
    tables = (Household.__table__, Resident.__table__, ResidentMovement.__table__)
    return [
        [
            tuple(row)
            for row in session.execute(
                select(table).where(table.c.tenant_code.in_(tenants)).order_by(*table.primary_key)
            )
        ]
        for table in tables
    ]


def _residents(session: Session, tenant: str) -> Sequence[Resident]:
    return session.scalars(select(Resident).where(Resident.tenant_code == tenant)).all()


def _age(born: date) -> int:
    before_birthday = (REFERENCE_DATE.month, REFERENCE_DATE.day) < (born.month, born.day)
    return REFERENCE_DATE.year - born.year - before_birthday


POPULATION = ("131024", "141003")  # 中央区, and 横浜市 whose residents live in its wards


@pytest.fixture(scope="module")
def population(engine: Engine) -> Iterator[Session]:
    """1,200 residents, seeded once for this module in a transaction rolled back after it.

    Every test of the module uses this session; tests that write more do it in a savepoint.
    """
    with engine.connect() as connection:
        transaction = connection.begin()
        session = Session(bind=connection, join_transaction_mode="create_savepoint")
        try:
            result = seed_population(session, POPULATION, 1_200, 7, RecordingHasher())
            assert (result.tenants, result.residents) == (POPULATION, 1_200)
            yield session
        finally:
            session.close()
            transaction.rollback()


def test_the_same_seed_gives_identical_rows(population: Session) -> None:
    runs = []
    for seed in (7, 7, 8):
        with population.begin_nested() as savepoint:
            seed_population(population, ["131016", "271004"], 300, seed, RecordingHasher())
            runs.append(_rows(population, ("131016", "271004")))
            savepoint.rollback()
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]
    assert [len(rows) for rows in runs[0]][1:] == [300, 300]


def test_residents_are_split_evenly() -> None:
    assert split_evenly(10, 3) == [4, 3, 3]
    assert split_evenly(2, 3) == [1, 1, 0]


def test_every_number_has_a_valid_check_digit(population: Session) -> None:
    for resident in population.scalars(select(Resident)):
        validate_addressee_number(resident.addressee_number)
        validate_addressee_number(resident.household_number)
        validate_resident_record_code(resident.resident_record_code)
    hasher = RecordingHasher()
    with population.begin_nested() as savepoint:
        seed_population(population, ["131016"], 500, 3, hasher)
        savepoint.rollback()
    assert len(hasher.numbers) == len(set(hasher.numbers)) == 500
    for number in hasher.numbers:
        validate_personal_number(number)
    assert all(fast_numbered(serial) == numbered(serial) for serial in range(1, 5_000))


def test_each_household_is_plausible(population: Session) -> None:
    households: dict[tuple[str, str], list[Resident]] = defaultdict(list)
    for resident in population.scalars(select(Resident)):
        households[(resident.tenant_code, resident.household_number)].append(resident)
    assert len(households) == population.scalar(select(func.count()).select_from(Household))
    for members in households.values():
        assert 1 <= len(members) <= 6
        heads = [member for member in members if member.relationship == "世帯主"]
        assert len(heads) == 1
        head = heads[0]
        ages = {member.addressee_number: _age(member.birth_date) for member in members}
        by_relationship = defaultdict(list)
        for member in members:
            by_relationship[member.relationship].append(ages[member.addressee_number])
        parents = [ages[head.addressee_number], *by_relationship["妻"], *by_relationship["夫"]]
        for child_age in by_relationship["子"]:
            assert all(parent - child_age >= 18 for parent in parents)
        for grandchild_age in by_relationship["孫"]:
            assert all(parent - grandchild_age >= 18 for parent in by_relationship["子"])
        for elder_age in by_relationship["父"] + by_relationship["母"]:
            assert elder_age - ages[head.addressee_number] >= 18
        for member in members:
            if member.relationship not in ("同居人", "妻の父", "妻の母"):
                assert member.family_name == head.family_name
            assert len({(m.lg_code, m.town_name, m.banchi, m.katagaki) for m in members}) == 1


def test_readings_belong_to_the_names(population: Session) -> None:
    family = {(kanji, kana) for kanji, kana, _ in JapaneseNames.last_name_pairs}
    given = {
        "1": {(kanji, kana) for kanji, kana, _ in JapaneseNames.first_name_male_pairs},
        "2": {(kanji, kana) for kanji, kana, _ in JapaneseNames.first_name_female_pairs},
    }
    for resident in population.scalars(select(Resident)):
        assert (resident.family_name, resident.family_name_kana) in family
        assert (resident.given_name, resident.given_name_kana) in given[resident.sex]


def test_addresses_are_real_towns_of_the_municipality(population: Session) -> None:
    wards = set(
        population.scalars(
            select(LocalGovernment.code).where(LocalGovernment.parent_code == "141003")
        )
    )
    towns = {
        (lg_code, name): has_chome
        for lg_code, name, has_chome in population.execute(
            select(Town.lg_code, Town.name, Town.has_chome).where(
                Town.lg_code.in_([*wards, "131024"])
            )
        )
    }
    assert {r.lg_code for r in _residents(population, "131024")} == {"131024"}
    yokohama = _residents(population, "141003")
    assert {r.lg_code for r in yokohama} <= wards
    assert len({r.lg_code for r in yokohama}) > 5  # spread over the city's wards
    for resident in population.scalars(select(Resident)):
        base = _CHOME.sub("", resident.town_name)
        assert base, resident.town_name
        if base != resident.town_name:
            assert towns[(resident.lg_code, base)] is True
        else:
            assert (resident.lg_code, base) in towns


def test_ages_look_like_japan(population: Session) -> None:
    ages = [_age(resident.birth_date) for resident in population.scalars(select(Resident))]
    elderly = sum(age >= 65 for age in ages) / len(ages)
    children = sum(age < 15 for age in ages) / len(ages)
    assert 0.2 < elderly < 0.45  # 28.6% in 2020
    assert 0.05 < children < 0.2  # 11.9% in 2020
    assert max(ages) <= 105


def test_each_person_has_one_birth_or_moving_in(population: Session) -> None:
    movements = population.scalars(select(ResidentMovement)).all()
    assert len(movements) == 1_200
    assert {movement.kind for movement in movements} == {"birth", "moving_in"}
    residents = {
        r.addressee_number + r.tenant_code: r for r in population.scalars(select(Resident))
    }
    for movement in movements:
        resident = residents[movement.addressee_number + movement.tenant_code]
        assert movement.occurred_on == resident.became_resident_on == resident.address_set_on
        assert movement.occurred_on <= movement.notified_on <= REFERENCE_DATE
        if movement.kind == "birth":
            assert movement.occurred_on == resident.birth_date


def test_the_demo_is_seeded_once(population: Session) -> None:
    hasher = PersonalNumberHasher(b"key for the tests")
    with population.begin_nested() as savepoint:
        first = seed_demo(population, hasher)
        assert (first.residents, first.already_seeded) == (DEMO_RESIDENTS, False)
        second = seed_demo(population, hasher)
        assert second.already_seeded
        count = population.scalar(
            select(func.count())
            .select_from(Resident)
            .where(Resident.tenant_code.in_(DEMO_MUNICIPALITIES))
        )
        assert count == DEMO_RESIDENTS
        osaka_parents = population.scalars(
            select(LocalGovernment.parent_code)
            .join(Resident, Resident.lg_code == LocalGovernment.code)
            .where(Resident.tenant_code == "271004")
            .distinct()
        ).all()
        assert osaka_parents == ["271004"]  # everyone lives in one of 大阪市's wards
        savepoint.rollback()


@pytest.mark.parametrize(
    ("codes", "residents", "error", "reason"),
    [
        (["999997"], 10, TenantError, "no local government"),
        (["271276"], 10, TenantError, "ward"),
        (["131016"], 0, SeedError, "at least 1"),
        (["131024"], 10, SeedError, "131024 already has residents"),
    ],
)
def test_bad_requests_write_nothing(
    population: Session,
    codes: list[str],
    residents: int,
    error: type[Exception],
    reason: str,
) -> None:
    hasher = RecordingHasher()
    before = population.scalar(select(func.count()).select_from(Resident))
    with pytest.raises(error, match=reason):
        seed_population(population, ["132012", *codes], residents, 1, hasher)
    assert population.scalar(select(func.count()).select_from(Resident)) == before
    assert population.get(Tenant, "132012") is None
    assert hasher.numbers == []
