"""The income certificate: the resident tax as computed, the synthetic ledger, the service."""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, select, text
from sqlalchemy.orm import Session

from kiban.core.crypto import PersonalNumberHasher
from kiban.core.tenancy import bind_tenant
from kiban.mesh.providers.models import ResidentIncome
from kiban.mesh.providers.synthetic import FISCAL_YEARS, seed_incomes
from kiban.mesh.providers.tax import (
    DependantKind,
    Spouse,
    assess,
    pension_income,
    salary_income,
)
from kiban.residents.models import Resident
from kiban.residents.synthetic import seed_population
from kiban_command import run_kiban_in_process
from mesh.providers.providers_support import (
    DATA_SUBJECT,
    HANAKO,
    TARO,
    YAMADA,
    Member,
    MoveIn,
)

INCOME = "/mesh-providers/{tenant}/tax-income-certificate/v1/residents/{number}/income"

# The resident tax ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("revenue", "income"),
    [
        (550_999, 0),
        (551_000, 1_000),
        (1_618_999, 1_068_999),
        (1_621_000, 1_070_000),  # the steps of the statutory table
        (1_627_999, 1_074_000),
        (1_628_000, 1_076_800),
        (1_799_999, 1_177_600),  # rounded down to 4,000 first
        (1_800_000, 1_180_000),
        (3_600_000, 2_440_000),
        (5_000_000, 3_560_000),
        (6_600_000, 4_840_000),
        (8_500_000, 6_550_000),
        (10_000_000, 8_050_000),
    ],
)
def test_salary_income_follows_the_statutory_table(revenue: int, income: int) -> None:
    assert salary_income(revenue) == income


@pytest.mark.parametrize(
    ("revenue", "income"),
    [(1_100_000, 0), (2_000_000, 900_000), (3_300_000, 2_200_000), (5_000_000, 3_565_000)],
)
def test_pension_income_of_people_aged_65_or_more(revenue: int, income: int) -> None:
    assert pension_income(revenue) == income


def test_a_single_employee_earning_five_million() -> None:
    assessment = assess(5_000_000, 0)
    assert (assessment.total_income, assessment.deductions) == (3_560_000, 1_180_000)
    assert assessment.taxable_income == 2_380_000
    # 6% and 4% less the adjustment credit's 1,500 and 1,000 yen.
    assert (assessment.income_levy, assessment.per_capita_levy) == (141_300 + 94_200, 5_000)


def test_a_family_earner_claims_the_spouse_and_a_child_of_17() -> None:
    assessment = assess(
        6_000_000, 0, spouse=Spouse(aged_70=False), dependants=[DependantKind.GENERAL]
    )
    assert (assessment.spouse_deduction, assessment.dependent_deduction) == (330_000, 330_000)
    assert (assessment.dependents, assessment.taxable_income) == (1, 2_370_000)
    assert assessment.income_levy == 140_700 + 93_800


def test_a_pensioner_is_taxed_on_what_exceeds_the_pension_deduction() -> None:
    assessment = assess(0, 2_000_000)
    assert (assessment.total_income, assessment.social_insurance_deduction) == (900_000, 160_000)
    assert assessment.taxable_income == 310_000
    assert (assessment.income_levy, assessment.per_capita_levy) == (17_100 + 11_400, 5_000)


@pytest.mark.parametrize(
    ("salary", "kwargs", "levies"),
    [
        (1_000_000, {}, (0, 0)),  # 450,000 yen of income: below both limits
        (1_010_000, {}, (0, 5_000)),  # above the per-capita limit, nothing left to tax
        (1_200_000, {"minor": True}, (0, 0)),  # a minor earning up to 1,350,000 yen of income
        # With a spouse and two children to support, the limits rise to 1,710,000 and
        # 1,820,000 yen of income.
        (
            2_550_000,
            {"spouse": Spouse(aged_70=False), "dependants": [DependantKind.YOUNG] * 2},
            (0, 0),
        ),
        (
            2_616_000,
            {"spouse": Spouse(aged_70=False), "dependants": [DependantKind.YOUNG] * 2},
            (0, 5_000),
        ),
    ],
)
def test_low_incomes_are_not_taxed(
    salary: int, kwargs: dict[str, Any], levies: tuple[int, int]
) -> None:
    assessment = assess(salary, 0, **kwargs)
    assert (assessment.income_levy, assessment.per_capita_levy) == levies


def test_dependants_are_told_apart_by_age_and_living_with_their_children() -> None:
    assert DependantKind.of(15, parent=False) is DependantKind.YOUNG
    assert DependantKind.of(16, parent=False) is DependantKind.GENERAL
    assert DependantKind.of(20, parent=False) is DependantKind.SPECIFIED
    assert DependantKind.of(72, parent=False) is DependantKind.ELDERLY
    assert DependantKind.of(72, parent=True) is DependantKind.ELDERLY_PARENT


# The synthetic ledger --------------------------------------------------------------------


def _ledger(session: Session, tenant_code: str) -> list[tuple[Any, ...]]:
    statement = (
        select(ResidentIncome.__table__)
        .where(ResidentIncome.tenant_code == tenant_code)
        .order_by(ResidentIncome.addressee_number, ResidentIncome.fiscal_year)
    )
    return [tuple(row) for row in session.execute(statement)]


def test_seeding_is_deterministic_per_resident(db_session: Session) -> None:
    hasher = PersonalNumberHasher(b"key for the tests")
    seed_population(db_session, ["131016", "132012"], 400, 3, hasher)
    written = seed_incomes(db_session, ["131016"])
    first = _ledger(db_session, "131016")
    assert written == len(first) > 0
    assert seed_incomes(db_session, ["131016"]) == 0  # a tenant is assessed once
    db_session.execute(delete(ResidentIncome))
    # Another tenant first, and the same tenant again: the same figures.
    seed_incomes(db_session, ["132012", "131016"])
    assert _ledger(db_session, "131016") == first


def test_the_synthetic_ledger_is_plausible(db_session: Session) -> None:
    seed_population(db_session, ["131016"], 1_000, 11, PersonalNumberHasher(b"key"))
    seed_incomes(db_session, ["131016"])
    rows = db_session.execute(
        select(ResidentIncome, Resident.birth_date, Resident.household_number).join(
            Resident,
            (Resident.tenant_code == ResidentIncome.tenant_code)
            & (Resident.addressee_number == ResidentIncome.addressee_number),
        )
    ).all()
    assert {row.ResidentIncome.fiscal_year for row in rows} == set(FISCAL_YEARS)
    claimers: dict[tuple[str, int], int] = {}
    taxed = 0
    for income, birth_date, household_number in rows:
        age = income.fiscal_year - 1 - birth_date.year  # on 31 December of the income year
        if age < 15:
            assert (income.total_income, income.income_levy, income.per_capita_levy) == (0, 0, 0)
        assert income.total_income == income.salary_income + income.pension_income
        assert income.pension_revenue == 0 or age >= 65
        if income.dependents or income.spouse_deduction:
            key = (household_number, income.fiscal_year)
            claimers[key] = claimers.get(key, 0) + 1
        taxed += income.per_capita_levy > 0
    assert set(claimers.values()) == {1}, "one earner per household claims its family"
    assert 0.4 < taxed / len(rows) < 0.75


def test_a_person_is_assessed_where_they_lived_on_1_january(
    db_session: Session, move_in: MoveIn
) -> None:
    settled = move_in(TARO, on=date(2024, 6, 1))[0]
    newcomer = move_in(
        Member(YAMADA, ("三郎", "サブロウ"), date(1990, 1, 1), TARO.sex, TARO.relationship),
        on=date(2025, 2, 1),
    )[0]
    seed_incomes(db_session, ["131016"])
    years = {
        number: list(
            db_session.scalars(
                select(ResidentIncome.fiscal_year).where(ResidentIncome.addressee_number == number)
            )
        )
        for number in (settled.addressee_number, newcomer.addressee_number)
    }
    assert years == {settled.addressee_number: [2025], newcomer.addressee_number: []}


def test_a_tenant_reads_only_its_own_ledger_on_postgresql(
    engine: Engine, db_session: Session, move_in: MoveIn
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no row-level security; only the application's checks apply")
    move_in(TARO, HANAKO)
    seed_incomes(db_session, ["131016"])
    role = f"kiban_rls_test_{uuid.uuid4().hex[:12]}"
    db_session.execute(text(f'CREATE ROLE "{role}" NOLOGIN'))
    db_session.execute(text(f'GRANT USAGE ON SCHEMA public TO "{role}"'))
    db_session.execute(text(f'GRANT SELECT ON resident_incomes TO "{role}"'))
    db_session.execute(text(f'SET LOCAL ROLE "{role}"'))
    assert db_session.scalar(text("SELECT count(*) FROM resident_incomes")) == 4
    bind_tenant(db_session, "132012")
    assert db_session.scalar(text("SELECT count(*) FROM resident_incomes")) == 0


def test_kiban_seed_assesses_the_residents_it_seeds(private_engine: Engine, tmp_path: Path) -> None:
    url = private_engine.url.render_as_string(hide_password=False)
    result = run_kiban_in_process(
        "seed",
        "--municipalities",
        "131024",
        "--residents",
        "40",
        database_url=url,
        data_dir=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "課税情報を" in result.stderr
    with Session(private_engine) as session:
        assert _ledger(session, "131024")


# The service ---------------------------------------------------------------------------


def test_the_certificate_answers_the_years_assessment(
    client: TestClient, chiyoda: dict[str, str], db_session: Session, yamada: list[Resident]
) -> None:
    taro = yamada[0]
    seed_incomes(db_session, ["131016"])
    row = db_session.get(ResidentIncome, ("131016", taro.addressee_number, 2025))
    assert row is not None
    response = client.get(
        INCOME.format(tenant="131016", number=taro.addressee_number),
        params={"year": 2025},
        headers=chiyoda,
    )
    assert response.status_code == 200, response.text
    assert response.headers[DATA_SUBJECT] == taro.addressee_number
    body = response.json()
    assert (body["fiscal_year"], body["income_year"]) == (2025, 2024)
    assert body["income"]["salary_revenue"] == row.salary_revenue
    assert body["income"]["total_income"] == row.total_income
    assert body["deductions"]["total"] == sum(
        body["deductions"][name] for name in ("basic", "social_insurance", "spouse", "dependents")
    )
    assert body["resident_tax"]["total"] == row.income_levy + row.per_capita_levy
    assert "山田" not in response.text  # the name is not the certificate's to tell


def test_a_child_is_assessed_with_no_income(
    client: TestClient, chiyoda: dict[str, str], db_session: Session, yamada: list[Resident]
) -> None:
    seed_incomes(db_session, ["131016"])
    body = client.get(
        INCOME.format(tenant="131016", number=yamada[2].addressee_number),
        params={"year": 2025},
        headers=chiyoda,
    ).json()
    assert body["income"]["total_income"] == 0
    assert body["resident_tax"] == {"income_levy": 0, "per_capita_levy": 0, "total": 0}


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"year": "2023"}, 404),  # no assessment that year
        ({}, 422),
        ({"year": "R7"}, 422),
        ({"year": "1900"}, 422),
    ],
)
def test_a_year_without_assessment_or_a_bad_year_is_a_problem(
    client: TestClient,
    chiyoda: dict[str, str],
    db_session: Session,
    yamada: list[Resident],
    params: dict[str, str],
    status: int,
) -> None:
    seed_incomes(db_session, ["131016"])
    response = client.get(
        INCOME.format(tenant="131016", number=yamada[0].addressee_number),
        params=params,
        headers=chiyoda,
    )
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert DATA_SUBJECT not in response.headers
