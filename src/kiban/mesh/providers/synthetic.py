"""A synthetic tax ledger: each seeded resident's income and resident tax, for the income
certificate.

Who earns what follows the shape of 国税庁's 民間給与実態統計調査 (salaries by bracket, men
and women apart) and of public pensions (厚生年金 for most, 国民年金 alone for some); nobody
under 15 earns anything.  In each household the highest earner claims the spouse and the
dependants whose income is low enough, as a family files (kiban.mesh.providers.tax).

Every draw comes from the resident's own hash of the tenant and 宛名番号, so the same resident
always gets the same figures, whichever tenants, residents or years are seeded with them.  A
person is assessed for a fiscal year by the municipality they lived in on 1 January of it.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import exists, insert, select
from sqlalchemy.orm import Session

from kiban.core.database import Base
from kiban.mesh.providers.models import ResidentIncome
from kiban.mesh.providers.tax import (
    DEPENDANT_INCOME_LIMIT,
    Assessment,
    DependantKind,
    Spouse,
    assess,
    pension_income,
    salary_income,
)
from kiban.residents.codes import Relationship, Sex
from kiban.residents.models import Resident

# The fiscal years assessed: income of 2023 and 2024, before the population's reference day.
FISCAL_YEARS = (2024, 2025)
BATCH_ROWS = 10_000
SALARY_GROWTH_PERCENT = 2  # a year's raise, so that two years of a person's pay differ

# Annual salary brackets in units of 10,000 yen, and the share of employees in each (%),
# after 民間給与実態統計調査 (令和5年分), rounded; only the shape matters.
_BRACKETS = (0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000, 1500, 2000, 2500, 3000)
_MEN = (3.3, 6.0, 9.9, 15.3, 16.8, 13.8, 9.7, 7.1, 5.1, 3.6, 6.7, 1.5, 0.5, 0.7)
_WOMEN = (14.9, 21.0, 18.6, 16.9, 11.8, 6.6, 3.5, 2.2, 1.3, 0.8, 1.6, 0.3, 0.1, 0.1)
_SPOUSES = frozenset({Relationship.WIFE.value, Relationship.HUSBAND.value})
_PARENTS = frozenset(
    relationship.value
    for relationship in (
        Relationship.FATHER,
        Relationship.MOTHER,
        Relationship.GRANDFATHER,
        Relationship.GRANDMOTHER,
        Relationship.WIFES_FATHER,
        Relationship.WIFES_MOTHER,
        Relationship.HUSBANDS_FATHER,
        Relationship.HUSBANDS_MOTHER,
    )
)


@dataclass(frozen=True, slots=True)
class _Person:
    addressee_number: str
    household_number: str
    relationship: str
    birth_date: date
    sex: str
    became_resident_on: date
    removed_on: date | None


@dataclass(frozen=True, slots=True)
class _Draws:
    """Four uniform numbers in [0, 1) that are the resident's own."""

    work: float
    pay: float
    within: float
    pension: float

    @classmethod
    def of(cls, tenant_code: str, addressee_number: str) -> _Draws:
        digest = hashlib.blake2b(
            f"kiban-income:{tenant_code}:{addressee_number}".encode(), digest_size=32
        ).digest()
        work, pay, within, pension = (
            int.from_bytes(digest[start : start + 8]) / 2**64 for start in range(0, 32, 8)
        )
        return cls(work, pay, within, pension)


class _Salaries:
    """Annual salary by a draw, within the brackets' shares."""

    def __init__(self, shares: Sequence[float]) -> None:
        self.cumulative = list(itertools.accumulate(shares))

    def revenue(self, pay: float, within: float, ceiling: int = len(_BRACKETS) - 2) -> int:
        """The salary at quantile ``pay``, no higher than bracket ``ceiling``."""
        point = pay * self.cumulative[ceiling]
        bracket = min(bisect.bisect_right(self.cumulative, point), ceiling)
        low, high = _BRACKETS[bracket], _BRACKETS[bracket + 1]
        return _thousands((low + (high - low) * within) * 10_000)


_MEN_SALARIES = _Salaries(_MEN)
_WOMEN_SALARIES = _Salaries(_WOMEN)


def _thousands(yen: float) -> int:
    return int(round(yen, -3))


def _age(birth_date: date, on: date) -> int:
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))


def _earnings(person: _Person, draws: _Draws, income_year: int) -> tuple[int, int]:
    """Salary and public-pension revenue of ``income_year``, by age on 31 December."""
    age = _age(person.birth_date, date(income_year, 12, 31))
    male = person.sex == Sex.MALE.value
    salaries = _MEN_SALARIES if male else _WOMEN_SALARIES
    salary = 0.0
    if age < 15:
        return 0, 0
    if age < 18:  # a few in part-time work
        if draws.work < 0.15:
            salary = 100_000 + 800_000 * draws.within
    elif age < 23:  # students' part-time work, or a first job
        if draws.work < 0.7:
            salary = salaries.revenue(draws.pay * 0.6, draws.within, ceiling=3)
    elif age < 65:
        if draws.work < (0.88 if male else 0.74):
            salary = salaries.revenue(draws.pay, draws.within)
    elif age < 75 and draws.work < (0.45 if male else 0.3):
        salary = salaries.revenue(draws.pay * 0.7, draws.within, ceiling=6)
    pension = 0
    if age >= 65:
        if draws.pension < 0.2:  # 国民年金 alone
            pension = _thousands(600_000 + 200_000 * draws.within)
        else:  # with 厚生年金
            low, high = (1_500_000, 2_800_000) if male else (900_000, 1_700_000)
            pension = _thousands(low + (high - low) * (draws.pension - 0.2) / 0.8)
    growth = (1 + SALARY_GROWTH_PERCENT / 100) ** (income_year - FISCAL_YEARS[-1] + 1)
    return _thousands(salary * growth), pension


def _assessments(
    tenant_code: str, household: Sequence[_Person], fiscal_year: int
) -> Iterator[tuple[_Person, Assessment]]:
    """The fiscal year's assessment of each member who lived here on 1 January of it."""
    assessed_on = date(fiscal_year, 1, 1)
    members = [
        person
        for person in household
        if person.became_resident_on <= assessed_on
        and (person.removed_on is None or person.removed_on > assessed_on)
    ]
    income_year = fiscal_year - 1
    revenues = {
        person.addressee_number: _earnings(
            person, _Draws.of(tenant_code, person.addressee_number), income_year
        )
        for person in members
    }

    def total(person: _Person) -> int:
        salary, pension = revenues[person.addressee_number]
        return salary_income(salary) + (pension_income(pension) if pension else 0)

    claimer = max(members, key=total, default=None)
    spouse: _Person | None = None
    supported: list[_Person] = []
    if claimer is not None and total(claimer) > 0:
        spouse = _spouse_of(claimer, members)
        supported = [
            person
            for person in members
            if person not in (claimer, spouse)
            and person.relationship != Relationship.LODGER.value
            and total(person) <= DEPENDANT_INCOME_LIMIT
        ]
        if spouse is not None and total(spouse) > DEPENDANT_INCOME_LIMIT:
            spouse = None
    year_end = date(income_year, 12, 31)
    for person in members:
        salary, pension = revenues[person.addressee_number]
        claims = person is claimer
        dependants = [
            DependantKind.of(
                _age(dependant.birth_date, year_end), parent=dependant.relationship in _PARENTS
            )
            for dependant in supported
        ]
        yield (
            person,
            assess(
                salary,
                pension,
                spouse=(
                    Spouse(aged_70=_age(spouse.birth_date, year_end) >= 70)
                    if claims and spouse
                    else None
                ),
                dependants=dependants if claims else (),
                minor=_age(person.birth_date, assessed_on) < 18,
            ),
        )


def _spouse_of(claimer: _Person, members: Sequence[_Person]) -> _Person | None:
    """The claimer's spouse in the household: the head's wife or husband, or the head."""
    if claimer.relationship == Relationship.HEAD.value:
        return next((person for person in members if person.relationship in _SPOUSES), None)
    if claimer.relationship in _SPOUSES:
        return next(
            (person for person in members if person.relationship == Relationship.HEAD.value),
            None,
        )
    return None


def _households(session: Session, tenant_code: str) -> Iterator[list[_Person]]:
    """The tenant's residents, household by household, streamed."""
    statement = (
        select(
            Resident.addressee_number,
            Resident.household_number,
            Resident.relationship,
            Resident.birth_date,
            Resident.sex,
            Resident.became_resident_on,
            Resident.removed_on,
        )
        .where(Resident.tenant_code == tenant_code)
        .order_by(Resident.household_number, Resident.addressee_number)
    )
    people = (
        _Person(*row) for row in session.execute(statement.execution_options(yield_per=BATCH_ROWS))
    )
    for _number, household in itertools.groupby(people, key=lambda person: person.household_number):
        yield list(household)


def seed_incomes(
    session: Session,
    tenant_codes: Sequence[str],
    progress: Callable[[int], None] = lambda _count: None,
) -> int:
    """Assess the residents of those tenants that have no assessments yet; the number of
    assessments written.  Flushes but never commits."""
    table = Base.metadata.tables[ResidentIncome.__tablename__]
    written = 0
    for tenant_code in tenant_codes:
        if session.scalar(select(exists().where(ResidentIncome.tenant_code == tenant_code))):
            continue
        rows: list[dict[str, Any]] = []
        for household in _households(session, tenant_code):
            for fiscal_year in FISCAL_YEARS:
                for person, assessment in _assessments(tenant_code, household, fiscal_year):
                    rows.append(_row(tenant_code, person, fiscal_year, assessment))
            if len(rows) >= BATCH_ROWS:
                session.execute(insert(table), rows)
                written += len(rows)
                progress(len(rows))
                rows = []
        if rows:
            session.execute(insert(table), rows)
            written += len(rows)
            progress(len(rows))
    return written


def _row(
    tenant_code: str, person: _Person, fiscal_year: int, assessment: Assessment
) -> dict[str, Any]:
    return {
        "tenant_code": tenant_code,
        "addressee_number": person.addressee_number,
        "fiscal_year": fiscal_year,
        "salary_revenue": assessment.salary_revenue,
        "salary_income": assessment.salary_income,
        "pension_revenue": assessment.pension_revenue,
        "pension_income": assessment.pension_income,
        "total_income": assessment.total_income,
        "basic_deduction": assessment.basic_deduction,
        "social_insurance_deduction": assessment.social_insurance_deduction,
        "spouse_deduction": assessment.spouse_deduction,
        "dependent_deduction": assessment.dependent_deduction,
        "dependents": assessment.dependents,
        "taxable_income": assessment.taxable_income,
        "income_levy": assessment.income_levy,
        "per_capita_levy": assessment.per_capita_levy,
    }
