"""Every query over resident records, scoped to one tenant: none reads another tenant's rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import ColumnElement, and_, exists, func, select
from sqlalchemy.orm import Session

from kiban.registry.addresses.models import Town
from kiban.registry.localgov.models import LocalGovernment
from kiban.residents.models import Household, Resident, ResidentMovement


class ResidentRepository:
    def __init__(self, session: Session, tenant_code: str) -> None:
        self.session = session
        self.tenant_code = tenant_code

    # Reads ------------------------------------------------------------------------------

    def resident(self, addressee_number: str) -> Resident | None:
        return self.session.get(Resident, (self.tenant_code, addressee_number))

    def household(self, household_number: str) -> Household | None:
        return self.session.get(Household, (self.tenant_code, household_number))

    def household_members(self, household_number: str) -> list[Resident]:
        statement = (
            select(Resident)
            .where(
                Resident.tenant_code == self.tenant_code,
                Resident.household_number == household_number,
            )
            .order_by(Resident.addressee_number)
        )
        return list(self.session.scalars(statement))

    def movements(self, addressee_number: str) -> list[ResidentMovement]:
        statement = (
            select(ResidentMovement)
            .where(
                ResidentMovement.tenant_code == self.tenant_code,
                ResidentMovement.addressee_number == addressee_number,
            )
            .order_by(ResidentMovement.sequence)
        )
        return list(self.session.scalars(statement))

    def search(
        self,
        *,
        family_name_kana: str | None,
        given_name_kana_prefix: str | None,
        birth_date: date | None,
        offset: int,
        limit: int,
    ) -> tuple[int, list[Resident]]:
        """Residents by reading and birth date; a reading alone is a prefix of the family name."""
        conditions: list[ColumnElement[bool]] = [Resident.tenant_code == self.tenant_code]
        if family_name_kana is not None and given_name_kana_prefix is not None:
            conditions.append(Resident.family_name_kana == family_name_kana)
            conditions.append(Resident.given_name_kana.startswith(given_name_kana_prefix))
        elif family_name_kana is not None:
            conditions.append(Resident.family_name_kana.startswith(family_name_kana))
        if birth_date is not None:
            conditions.append(Resident.birth_date == birth_date)
        statement = select(Resident).where(and_(*conditions))
        total = self.session.scalar(statement.with_only_columns(func.count())) or 0
        page = statement.order_by(
            Resident.family_name_kana, Resident.given_name_kana, Resident.addressee_number
        )
        return total, list(self.session.scalars(page.offset(offset).limit(limit)))

    def personal_number_hash_exists(self, personal_number_hash: str) -> bool:
        statement = select(
            exists().where(
                Resident.tenant_code == self.tenant_code,
                Resident.personal_number_hash == personal_number_hash,
            )
        )
        return bool(self.session.scalar(statement))

    def resident_record_code_exists(self, resident_record_code: str) -> bool:
        statement = select(
            exists().where(
                Resident.tenant_code == self.tenant_code,
                Resident.resident_record_code == resident_record_code,
            )
        )
        return bool(self.session.scalar(statement))

    def last_addressee_serial(self) -> int:
        """The highest serial in use; a 宛名番号 is its 9-digit serial and a check digit."""
        statement = select(func.max(Resident.addressee_number)).where(
            Resident.tenant_code == self.tenant_code
        )
        return _serial(self.session.scalar(statement))

    def last_household_serial(self) -> int:
        statement = select(func.max(Household.household_number)).where(
            Household.tenant_code == self.tenant_code
        )
        return _serial(self.session.scalar(statement))

    def last_movement_sequence(self, addressee_number: str) -> int:
        statement = select(func.max(ResidentMovement.sequence)).where(
            ResidentMovement.tenant_code == self.tenant_code,
            ResidentMovement.addressee_number == addressee_number,
        )
        return self.session.scalar(statement) or 0

    def has_residents(self) -> bool:
        statement = select(exists().where(Resident.tenant_code == self.tenant_code))
        return bool(self.session.scalar(statement))

    # Shared reference data ---------------------------------------------------------------

    def local_government(self, code: str) -> LocalGovernment | None:
        return self.session.get(LocalGovernment, code)

    def wards_of(self, city_code: str) -> list[str]:
        statement = select(LocalGovernment.code).where(LocalGovernment.parent_code == city_code)
        return list(self.session.scalars(statement))

    def town_names(self, lg_code: str, names: Sequence[str]) -> dict[str, bool]:
        """Which of ``names`` are towns of ``lg_code``, each with whether it has 丁目."""
        statement = select(Town.name, Town.has_chome).where(
            Town.lg_code == lg_code, Town.name.in_(names)
        )
        found: dict[str, bool] = {}
        for name, has_chome in self.session.execute(statement):
            found[name] = found.get(name, False) or has_chome
        return found

    # Writes: movements are only ever added --------------------------------------------------

    def add_household(self, household: Household) -> None:
        self.session.add(household)

    def add_resident(self, resident: Resident) -> None:
        self.session.add(resident)

    def add_movement(self, movement: ResidentMovement) -> None:
        self.session.add(movement)


def _serial(number: str | None) -> int:
    return int(number[:9]) if number else 0
