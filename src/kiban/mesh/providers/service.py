"""What a municipality's provider systems answer, read from its own records only.

Every read is scoped to the tenant, and the request's transaction is bound to it before
(kiban.core.tenancy), so PostgreSQL's row-level security holds as a second wall.  A person
who is not a current resident is not found, without saying whether they ever were one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from sqlalchemy.orm import Session

from kiban.core.errors import NotFound, ProblemError
from kiban.mesh.providers.models import ResidentIncome
from kiban.mesh.providers.population import count_age_bands
from kiban.mesh.providers.schemas import (
    AgeBands,
    CertificateAddress,
    Deductions,
    HouseholdAnswer,
    HouseholdMember,
    IncomeCertificate,
    IncomeFigures,
    PersonName,
    ResidentCertificate,
    ResidentTax,
)
from kiban.residents.codes import Relationship, ResidentStatus, Sex
from kiban.residents.models import Resident
from kiban.residents.repository import ResidentRepository
from kiban.residents.service import japan_today


def _name(resident: Resident) -> PersonName:
    return PersonName(
        family_name=resident.family_name,
        given_name=resident.given_name,
        family_name_kana=resident.family_name_kana,
        given_name_kana=resident.given_name_kana,
    )


class ProviderService:
    """The answers of one tenant's provider systems; reads only, so never commits."""

    def __init__(
        self, session: Session, tenant_code: str, *, today: Callable[[], date] = japan_today
    ) -> None:
        self.session = session
        self.tenant_code = tenant_code
        self.repository = ResidentRepository(session, tenant_code)
        self.today = today

    def certificate(self, addressee_number: str) -> ResidentCertificate:
        """住民票の記載事項 of a current resident."""
        resident = self._current(addressee_number)
        members = self._current_members(resident.household_number)
        head = next(
            (member for member in members if member.relationship == Relationship.HEAD), None
        )
        return ResidentCertificate(
            addressee_number=resident.addressee_number,
            name=_name(resident),
            birth_date=resident.birth_date,
            sex=Sex(resident.sex),
            head_of_household=_name(head) if head else None,
            relationship=resident.relationship,
            address=self._address(resident),
            became_resident_on=resident.became_resident_on,
            address_set_on=resident.address_set_on,
            notified_on=resident.notified_on,
        )

    def household(self, addressee_number: str) -> HouseholdAnswer:
        """The current members of a current resident's household, the head first."""
        resident = self._current(addressee_number)
        members = sorted(
            self._current_members(resident.household_number),
            key=lambda member: (member.relationship != Relationship.HEAD, member.addressee_number),
        )
        return HouseholdAnswer(
            addressee_number=resident.addressee_number,
            members=[
                HouseholdMember(
                    addressee_number=member.addressee_number,
                    name=_name(member),
                    birth_date=member.birth_date,
                    sex=Sex(member.sex),
                    relationship=member.relationship,
                )
                for member in members
            ],
        )

    def income(self, addressee_number: str, fiscal_year: int) -> IncomeCertificate:
        """The fiscal year's assessment: the municipality the person lived in on 1 January
        of that year certifies it, even after they moved away."""
        row = self.session.get(ResidentIncome, (self.tenant_code, addressee_number, fiscal_year))
        if row is None:
            raise NotFound(
                f"Tenant {self.tenant_code} has no assessment of this person for fiscal year"
                f" {fiscal_year}. / この年度の課税情報がありません。"
            )
        return IncomeCertificate(
            addressee_number=row.addressee_number,
            fiscal_year=row.fiscal_year,
            income_year=row.fiscal_year - 1,
            income=IncomeFigures(
                salary_revenue=row.salary_revenue,
                salary_income=row.salary_income,
                pension_revenue=row.pension_revenue,
                pension_income=row.pension_income,
                total_income=row.total_income,
            ),
            deductions=Deductions(
                basic=row.basic_deduction,
                social_insurance=row.social_insurance_deduction,
                spouse=row.spouse_deduction,
                dependents=row.dependent_deduction,
                total=row.basic_deduction
                + row.social_insurance_deduction
                + row.spouse_deduction
                + row.dependent_deduction,
            ),
            dependents=row.dependents,
            taxable_income=row.taxable_income,
            resident_tax=ResidentTax(
                income_levy=row.income_levy,
                per_capita_levy=row.per_capita_levy,
                total=row.income_levy + row.per_capita_levy,
            ),
        )

    def age_bands(self, on: date) -> AgeBands:
        """The population on ``on``, a day that has come (no projections)."""
        if on > self.today():
            raise ProblemError(
                422,
                "invalid-request",
                "Invalid request / リクエストが不正です",
                "on: the day must not be in the future / 未来の日付は指定できません",
            )
        bands = count_age_bands(self.session, self.tenant_code, on)
        return AgeBands(
            lg_code=self.tenant_code,
            on=on,
            total=sum(band.total for band in bands),
            bands=bands,
        )

    def _current(self, addressee_number: str) -> Resident:
        resident = self.repository.resident(addressee_number)
        if resident is None or resident.status != ResidentStatus.RESIDENT:
            # The number is not echoed: problem details may end up in logs.
            raise NotFound(
                f"Tenant {self.tenant_code} has no current resident with this 宛名番号."
                " / 該当する住民はいません。"
            )
        return resident

    def _current_members(self, household_number: str) -> list[Resident]:
        return [
            member
            for member in self.repository.household_members(household_number)
            if member.status == ResidentStatus.RESIDENT
        ]

    def _address(self, resident: Resident) -> CertificateAddress:
        city = self.repository.local_government(resident.lg_code)
        assert city is not None  # a foreign key of the record
        prefecture = self.repository.local_government(city.prefecture_code)
        assert prefecture is not None  # every municipality has its prefecture in the registry
        city_name = f"{city.county or ''}{city.name}"
        text = f"{prefecture.name}{city_name}{resident.town_name}{resident.banchi}"
        return CertificateAddress(
            lg_code=city.code,
            prefecture=prefecture.name,
            city=city_name,
            town_name=resident.town_name,
            banchi=resident.banchi,
            katagaki=resident.katagaki,
            text=f"{text} {resident.katagaki}" if resident.katagaki else text,
        )
