"""The individual resident tax (個人住民税) on a year's salary and public pensions.

The synthetic tax ledger behind the income certificate (所得証明) is computed here, so that its
figures hold together as a real municipality's would: income after the statutory deductions
for employment and pensions, the personal deductions of the resident tax, the non-taxable
limits and the adjustment credit.  The rules are those of fiscal 2024 and 2025 (income of
2023 and 2024).  Left out, as the synthetic population has no use for them: 所得金額調整控除,
配偶者特別控除, ひとり親・寡婦・障害者控除, and every income but salary and pensions.  The
non-taxable limits are those of a 1級地 (Tokyo's wards, the designated cities) for every
municipality.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

# 均等割: 市町村 3,000 + 道府県 1,000 + 森林環境税 1,000 (from fiscal 2024).
PER_CAPITA_LEVY = 5_000
# 所得割 of the 市町村民税 and the 道府県民税, each with its share of the adjustment credit,
# each rounded down to 100 yen.  (A designated city levies 8% and 2%: the same 10% in all.)
LEVY_RATES_PERCENT = ((6, 3), (4, 2))
# The total income (合計所得金額) up to which a person is someone's spouse or dependant.
DEPENDANT_INCOME_LIMIT = 480_000
# A minor (未成年者, under 18 on 1 January of the fiscal year) is not taxed up to this income.
MINOR_INCOME_LIMIT = 1_350_000
_SOCIAL_INSURANCE_SALARY_PERCENT = 15  # health, pension, employment: about 15% of pay
_SOCIAL_INSURANCE_SALARY_CAP = 10_000_000  # the premiums' monthly ceilings, roughly
_SOCIAL_INSURANCE_PENSION_PERCENT = 8  # health and long-term care premiums of pensioners


def salary_income(revenue: int) -> int:
    """給与所得: salary revenue less the employment income deduction (給与所得控除).

    As the statutory table (所得税法別表第五) has it: from 1,628,000 to 6,600,000 yen the
    revenue is first rounded down to 4,000 yen, and just below that the income goes in steps.
    """
    if revenue < 551_000:
        return 0
    if revenue < 1_619_000:
        return revenue - 550_000
    if revenue < 1_628_000:
        steps = ((1_620_000, 1_069_000), (1_622_000, 1_070_000), (1_624_000, 1_072_000))
        return next((income for below, income in steps if revenue < below), 1_074_000)
    rounded = revenue - revenue % 4_000
    if revenue < 1_800_000:
        return rounded * 6 // 10 + 100_000
    if revenue < 3_600_000:
        return rounded * 7 // 10 - 80_000
    if revenue < 6_600_000:
        return rounded * 8 // 10 - 440_000
    if revenue < 8_500_000:
        return revenue * 9 // 10 - 1_100_000
    return revenue - 1_950_000


def pension_income(revenue: int) -> int:
    """雑所得 of public pensions for a person aged 65 or more (公的年金等控除)."""
    if revenue < 3_300_000:
        return max(0, revenue - 1_100_000)
    if revenue < 4_100_000:
        return revenue * 75 // 100 - 275_000
    if revenue < 7_700_000:
        return revenue * 85 // 100 - 685_000
    if revenue < 10_000_000:
        return revenue * 95 // 100 - 1_455_000
    return revenue - 1_955_000


def basic_deduction(total_income: int) -> int:
    """基礎控除 of the resident tax, which shrinks for the highest incomes."""
    if total_income <= 24_000_000:
        return 430_000
    if total_income <= 24_500_000:
        return 290_000
    if total_income <= 25_000_000:
        return 150_000
    return 0


def social_insurance_deduction(salary_revenue: int, pension_revenue: int) -> int:
    """社会保険料控除, estimated from the revenue: what was withheld from pay and pensions."""
    salary = min(salary_revenue, _SOCIAL_INSURANCE_SALARY_CAP)
    return (
        salary * _SOCIAL_INSURANCE_SALARY_PERCENT
        + pension_revenue * _SOCIAL_INSURANCE_PENSION_PERCENT
    ) // 100


class DependantKind(Enum):
    """The kinds of 扶養親族, with their deduction and their share of the adjustment credit
    (人的控除額の差).  A dependant under 16 has no deduction but counts for the
    non-taxable limit."""

    YOUNG = (0, 0)  # 年少扶養親族, under 16
    GENERAL = (330_000, 50_000)  # 一般
    SPECIFIED = (450_000, 180_000)  # 特定扶養親族, 19 to 22
    ELDERLY = (380_000, 100_000)  # 老人扶養親族, 70 or more
    ELDERLY_PARENT = (450_000, 130_000)  # 同居老親等: a parent of either spouse living with them

    @classmethod
    def of(cls, age: int, *, parent: bool) -> DependantKind:
        """The kind of a dependant aged ``age`` on 31 December of the income year."""
        if age < 16:
            return cls.YOUNG
        if 19 <= age <= 22:
            return cls.SPECIFIED
        if age >= 70:
            return cls.ELDERLY_PARENT if parent else cls.ELDERLY
        return cls.GENERAL


def spouse_deduction(total_income: int, *, spouse_aged_70: bool) -> tuple[int, int]:
    """配偶者控除 and its share of the adjustment credit, by the taxpayer's total income."""
    if total_income <= 9_000_000:
        return (380_000, 100_000) if spouse_aged_70 else (330_000, 50_000)
    if total_income <= 9_500_000:
        return (260_000, 60_000) if spouse_aged_70 else (220_000, 40_000)
    if total_income <= 10_000_000:
        return (130_000, 30_000) if spouse_aged_70 else (110_000, 20_000)
    return (0, 0)


@dataclass(frozen=True, slots=True)
class Spouse:
    """A spouse whose total income is at most DEPENDANT_INCOME_LIMIT (同一生計配偶者)."""

    aged_70: bool


@dataclass(frozen=True, slots=True)
class Assessment:
    """One person's assessment for one fiscal year, in yen."""

    salary_revenue: int
    salary_income: int
    pension_revenue: int
    pension_income: int
    total_income: int  # 総所得金額 (here also 合計所得金額)
    basic_deduction: int
    social_insurance_deduction: int
    spouse_deduction: int
    dependent_deduction: int
    dependents: int  # 扶養親族の数, the young included
    taxable_income: int  # 課税標準額 (課税総所得金額), rounded down to 1,000 yen
    income_levy: int  # 所得割額
    per_capita_levy: int  # 均等割額

    @property
    def deductions(self) -> int:
        return (
            self.basic_deduction
            + self.social_insurance_deduction
            + self.spouse_deduction
            + self.dependent_deduction
        )


def assess(
    salary_revenue: int,
    pension_revenue: int,
    *,
    spouse: Spouse | None = None,
    dependants: Sequence[DependantKind] = (),
    minor: bool = False,
) -> Assessment:
    """The resident tax of a person with these revenues, spouse and dependants; ``minor``
    when the person was under 18 on 1 January of the fiscal year."""
    salary = salary_income(salary_revenue)
    pension = pension_income(pension_revenue) if pension_revenue else 0
    total = salary + pension
    basic = basic_deduction(total)
    social = social_insurance_deduction(salary_revenue, pension_revenue)
    spouse_amount, spouse_difference = (
        spouse_deduction(total, spouse_aged_70=spouse.aged_70) if spouse else (0, 0)
    )
    dependent_amount = sum(kind.value[0] for kind in dependants)
    deductions = basic + social + spouse_amount + dependent_amount
    taxable = max(0, total - deductions) // 1_000 * 1_000
    supported = len(dependants) + (1 if spouse else 0)
    if _non_taxable(total, supported, minor, per_capita=True):
        income_levy, per_capita = 0, 0
    else:
        per_capita = PER_CAPITA_LEVY
        income_levy = 0
        if not _non_taxable(total, supported, minor, per_capita=False):
            differences = 50_000 + spouse_difference + sum(kind.value[1] for kind in dependants)
            base = _adjustment_base(taxable, differences) if total <= 25_000_000 else 0
            income_levy = sum(
                max(0, taxable * rate // 100 - base * credit // 100) // 100 * 100
                for rate, credit in LEVY_RATES_PERCENT
            )
    return Assessment(
        salary_revenue=salary_revenue,
        salary_income=salary,
        pension_revenue=pension_revenue,
        pension_income=pension,
        total_income=total,
        basic_deduction=basic,
        social_insurance_deduction=social,
        spouse_deduction=spouse_amount,
        dependent_deduction=dependent_amount,
        dependents=len(dependants),
        taxable_income=taxable,
        income_levy=income_levy,
        per_capita_levy=per_capita,
    )


def _non_taxable(total: int, supported: int, minor: bool, *, per_capita: bool) -> bool:
    """Below the limit for the per-capita levy (均等割) or the income levy (所得割): 1級地,
    ``supported`` being the 同一生計配偶者 and 扶養親族 the person supports."""
    if minor and total <= MINOR_INCOME_LIMIT:
        return True
    if supported == 0:
        return total <= 450_000
    addition = 210_000 if per_capita else 320_000
    return total <= 350_000 * (supported + 1) + 100_000 + addition


def _adjustment_base(taxable: int, differences: int) -> int:
    """What the adjustment credit (調整控除) is a share of: the personal deductions the
    income tax has over the resident tax, limited as the taxable income grows."""
    if taxable <= 2_000_000:
        return min(differences, taxable)
    return max(differences - (taxable - 2_000_000), 50_000)
