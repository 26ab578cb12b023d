"""Resident movements (異動) and the current state they lead to, changed together.

Each method validates everything first, then inserts one movement row and brings the
resident's current state in line with it, and flushes.  It never commits: the request or
command that owns the session does, so a movement that fails leaves nothing behind.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kiban.core.crypto import PersonalNumberHasher
from kiban.core.errors import NotFound, ProblemError
from kiban.core.events import publish
from kiban.core.identifiers import (
    addressee_number_check_digit,
    random_personal_number,
    random_resident_record_code,
)
from kiban.registry.localgov.derive import LocalGovernmentKind
from kiban.residents.codes import MovementKind, Relationship, ResidentStatus
from kiban.residents.events import ResidentAddressChanged, ResidentRemoved
from kiban.residents.models import Household, Resident, ResidentMovement
from kiban.residents.repository import ResidentRepository
from kiban.residents.schemas import (
    AddressIn,
    BirthIn,
    DeathIn,
    HouseholdPlacement,
    MovingInIn,
    MovingOutIn,
    PersonIn,
    RelocationIn,
)

JAPAN = ZoneInfo("Asia/Tokyo")
# Where people live: never a prefecture, nor a designated city itself (its residents live in wards).
RESIDENTIAL_KINDS = frozenset(
    {
        LocalGovernmentKind.CITY,
        LocalGovernmentKind.SPECIAL_WARD,
        LocalGovernmentKind.TOWN,
        LocalGovernmentKind.VILLAGE,
        LocalGovernmentKind.WARD,
    }
)
_CHOME = re.compile(r"^(?P<town>.+?)(?P<chome>[一二三四五六七八九十]+)丁目$")


def numbered(serial: int) -> str:
    """A 宛名番号 or 世帯番号: the 9-digit serial and its Luhn check digit."""
    digits = f"{serial:09d}"
    return digits + addressee_number_check_digit(digits)


def japan_today() -> date:
    return datetime.now(JAPAN).date()


class InvalidMovement(ProblemError):
    def __init__(self, detail: str) -> None:
        super().__init__(
            422, "invalid-movement", "Invalid movement / 異動の内容が正しくありません", detail
        )


class MovementConflict(ProblemError):
    def __init__(self, detail: str) -> None:
        super().__init__(409, "movement-conflict", "Conflict / 記録の状態と合いません", detail)


@dataclass(frozen=True, slots=True)
class _Placement:
    household_number: str
    relationship: Relationship


class ResidentService:
    """Resident records of one tenant."""

    def __init__(
        self,
        session: Session,
        tenant_code: str,
        hasher: PersonalNumberHasher,
        *,
        today: Callable[[], date] = japan_today,
    ) -> None:
        self.session = session
        self.tenant_code = tenant_code
        self.repository = ResidentRepository(session, tenant_code)
        self.hasher = hasher
        self.today = today
        self._jurisdiction: frozenset[str] | None = None

    # Reads ------------------------------------------------------------------------------

    def resident(self, addressee_number: str) -> Resident:
        resident = self.repository.resident(addressee_number)
        if resident is None:
            # The number is not echoed: problem details may end up in logs.
            raise NotFound(f"Tenant {self.tenant_code} has no resident with this 宛名番号.")
        return resident

    def household(self, household_number: str) -> tuple[Household, list[Resident]]:
        household = self.repository.household(household_number)
        if household is None:
            raise NotFound(f"Tenant {self.tenant_code} has no household with this 世帯番号.")
        return household, self.repository.household_members(household_number)

    def movements(self, addressee_number: str) -> list[ResidentMovement]:
        return self.repository.movements(addressee_number)

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
        return self.repository.search(
            family_name_kana=family_name_kana,
            given_name_kana_prefix=given_name_kana_prefix,
            birth_date=birth_date,
            offset=offset,
            limit=limit,
        )

    # Movements --------------------------------------------------------------------------

    def register_birth(self, notification: BirthIn) -> Resident:
        """出生: a new resident record with new numbers, born on the day it records."""
        person = notification.person
        born = person.birth_date
        self._check_notified(born, notification.notified_on)
        self._check_address(notification.address, within_tenant=True)
        placement = self._place(notification.household, born)
        rng = random.SystemRandom()
        resident_record_code = random_resident_record_code(rng)
        while self.repository.resident_record_code_exists(resident_record_code):
            resident_record_code = random_resident_record_code(rng)
        personal_number_hash = self.hasher.hash(random_personal_number(rng))
        while self.repository.personal_number_hash_exists(personal_number_hash):
            personal_number_hash = self.hasher.hash(random_personal_number(rng))
        return self._new_resident(
            MovementKind.BIRTH,
            person,
            resident_record_code,
            personal_number_hash,
            placement,
            notification.address,
            born,
            notification.notified_on,
        )

    def register_moving_in(self, notification: MovingInIn) -> Resident:
        """転入: a person from another municipality, with the numbers they already have."""
        person = notification.person
        moved_in = notification.moved_in_on
        if moved_in < person.birth_date:
            raise InvalidMovement(
                "moved_in_on is before the birth date / 転入日が生年月日より前です"
            )
        self._check_notified(moved_in, notification.notified_on)
        self._check_address(notification.address, within_tenant=True)
        personal_number_hash = self.hasher.hash(notification.personal_number.get_secret_value())
        if self.repository.personal_number_hash_exists(personal_number_hash):
            raise MovementConflict("This person already has a record here / 既に記録があります")
        if self.repository.resident_record_code_exists(notification.resident_record_code):
            raise MovementConflict(
                "This 住民票コード already has a record here / 既に記録があります"
            )
        placement = self._place(notification.household, moved_in)
        return self._new_resident(
            MovementKind.MOVING_IN,
            person,
            notification.resident_record_code,
            personal_number_hash,
            placement,
            notification.address,
            moved_in,
            notification.notified_on,
        )

    def relocate(self, addressee_number: str, notification: RelocationIn) -> Resident:
        """転居: a new address within the municipality; the old one stays in the history."""
        resident = self._current_resident(addressee_number)
        self._check_chronology(resident, notification.occurred_on)
        self._check_notified(notification.occurred_on, notification.notified_on)
        self._check_address(notification.address, within_tenant=True)
        self._set_address(resident, notification.address)
        resident.address_set_on = notification.occurred_on
        resident.notified_on = notification.notified_on
        self._record(
            resident,
            MovementKind.RELOCATION,
            notification.occurred_on,
            notification.notified_on,
            notification.address,
        )
        self._flushed(resident)
        publish(
            self.session,
            ResidentAddressChanged(self.tenant_code, addressee_number, notification.occurred_on),
        )
        return resident

    def move_out(self, addressee_number: str, notification: MovingOutIn) -> Resident:
        """転出: the record is kept, no longer current, with the destination in the history."""
        resident = self._current_resident(addressee_number)
        self._check_chronology(resident, notification.occurred_on)
        if notification.notified_on > self.today():
            raise InvalidMovement("notified_on is in the future / 届出日が未来の日付です")
        self._check_address(notification.destination, within_tenant=False)
        resident.status = ResidentStatus.MOVED_OUT
        resident.removed_on = notification.occurred_on
        resident.notified_on = notification.notified_on
        self._record(
            resident,
            MovementKind.MOVING_OUT,
            notification.occurred_on,
            notification.notified_on,
            notification.destination,
        )
        self._flushed(resident)
        publish(
            self.session,
            ResidentRemoved(
                self.tenant_code, addressee_number, "moved_out", notification.occurred_on
            ),
        )
        return resident

    def record_death(self, addressee_number: str, notification: DeathIn) -> Resident:
        """死亡: the record is kept, no longer current."""
        resident = self._current_resident(addressee_number)
        self._check_chronology(resident, notification.occurred_on)
        self._check_notified(notification.occurred_on, notification.notified_on)
        resident.status = ResidentStatus.DECEASED
        resident.removed_on = notification.occurred_on
        resident.notified_on = notification.notified_on
        self._record(
            resident, MovementKind.DEATH, notification.occurred_on, notification.notified_on, None
        )
        self._flushed(resident)
        publish(
            self.session,
            ResidentRemoved(self.tenant_code, addressee_number, "died", notification.occurred_on),
        )
        return resident

    # Checks -----------------------------------------------------------------------------

    def _current_resident(self, addressee_number: str) -> Resident:
        resident = self.resident(addressee_number)
        if resident.status != ResidentStatus.RESIDENT:
            raise MovementConflict(
                f"The person is no longer a resident ({resident.status}) / 既に住民ではありません"
            )
        return resident

    def _check_chronology(self, resident: Resident, occurred_on: date) -> None:
        latest = max(resident.address_set_on, resident.became_resident_on)
        if occurred_on < latest:
            raise InvalidMovement(
                "occurred_on is before the latest movement / 直前の異動より前の日付です"
            )

    def _check_notified(self, occurred_on: date, notified_on: date) -> None:
        if notified_on < occurred_on:
            raise InvalidMovement("notified_on is before the movement / 届出日が異動日より前です")
        if notified_on > self.today():
            raise InvalidMovement("notified_on is in the future / 届出日が未来の日付です")

    def jurisdiction(self) -> frozenset[str]:
        """The codes a resident of this tenant can live in: itself, or a designated city's wards."""
        if self._jurisdiction is None:
            wards = self.repository.wards_of(self.tenant_code)
            self._jurisdiction = frozenset(wards or [self.tenant_code])
        return self._jurisdiction

    def _check_address(self, address: AddressIn, *, within_tenant: bool) -> None:
        body = self.repository.local_government(address.lg_code)
        if body is None or body.kind not in RESIDENTIAL_KINDS:
            raise InvalidMovement(
                f"{address.lg_code} is not a municipality or ward people live in"
                " / 住所の市区町村コードが正しくありません"
            )
        inside = address.lg_code in self.jurisdiction()
        if within_tenant and not inside:
            raise InvalidMovement(
                f"{address.lg_code} is outside tenant {self.tenant_code}"
                " / 住所がこの市区町村の区域外です"
            )
        if not within_tenant and inside:
            raise InvalidMovement(
                "the destination is inside this municipality: a 転居 / 区域内の異動は転居です"
            )
        chome = _CHOME.match(address.town_name)
        base = chome["town"] if chome else address.town_name
        towns = self.repository.town_names(address.lg_code, [address.town_name, base])
        if address.town_name not in towns and not towns.get(base, False):
            raise InvalidMovement(
                f"{address.town_name} is not a town of {address.lg_code} / 町字が見つかりません"
            )

    def _place(self, placement: HouseholdPlacement, on: date) -> _Placement:
        if placement.household_number is None:
            if placement.relationship is not Relationship.HEAD:
                raise InvalidMovement(
                    "a new household needs 続柄 世帯主 / 新しい世帯の続柄は世帯主です"
                )
            number = numbered(self.repository.last_household_serial() + 1)
            self.repository.add_household(
                Household(tenant_code=self.tenant_code, household_number=number, formed_on=on)
            )
            return _Placement(number, Relationship.HEAD)
        if self.repository.household(placement.household_number) is None:
            raise InvalidMovement(
                f"tenant {self.tenant_code} has no such household / 世帯がありません"
            )
        members = self.repository.household_members(placement.household_number)
        has_head = any(
            member.relationship == Relationship.HEAD and member.status == ResidentStatus.RESIDENT
            for member in members
        )
        if placement.relationship is Relationship.HEAD and has_head:
            raise MovementConflict("the household already has a 世帯主 / 世帯主が既にいます")
        return _Placement(placement.household_number, placement.relationship)

    # Writes -----------------------------------------------------------------------------

    def _new_resident(
        self,
        kind: MovementKind,
        person: PersonIn,
        resident_record_code: str,
        personal_number_hash: str,
        placement: _Placement,
        address: AddressIn,
        occurred_on: date,
        notified_on: date,
    ) -> Resident:
        resident = Resident(
            tenant_code=self.tenant_code,
            addressee_number=numbered(self.repository.last_addressee_serial() + 1),
            resident_record_code=resident_record_code,
            personal_number_hash=personal_number_hash,
            family_name=person.family_name,
            given_name=person.given_name,
            family_name_kana=person.family_name_kana,
            given_name_kana=person.given_name_kana,
            birth_date=person.birth_date,
            sex=person.sex,
            household_number=placement.household_number,
            relationship=placement.relationship,
            became_resident_on=occurred_on,
            address_set_on=occurred_on,
            notified_on=notified_on,
            status=ResidentStatus.RESIDENT,
            removed_on=None,
        )
        self._set_address(resident, address)
        self.repository.add_resident(resident)
        self._record(resident, kind, occurred_on, notified_on, address)
        return self._flushed(resident)

    @staticmethod
    def _set_address(resident: Resident, address: AddressIn) -> None:
        resident.lg_code = address.lg_code
        resident.town_name = address.town_name
        resident.banchi = address.banchi
        resident.katagaki = address.katagaki

    def _record(
        self,
        resident: Resident,
        kind: MovementKind,
        occurred_on: date,
        notified_on: date,
        address: AddressIn | None,
    ) -> None:
        self.repository.add_movement(
            ResidentMovement(
                tenant_code=self.tenant_code,
                addressee_number=resident.addressee_number,
                sequence=self.repository.last_movement_sequence(resident.addressee_number) + 1,
                kind=kind,
                occurred_on=occurred_on,
                notified_on=notified_on,
                household_number=resident.household_number,
                relationship=resident.relationship,
                lg_code=address.lg_code if address else None,
                town_name=address.town_name if address else None,
                banchi=address.banchi if address else None,
                katagaki=address.katagaki if address else None,
                recorded_at=datetime.now(UTC),
            )
        )

    def _flushed(self, resident: Resident) -> Resident:
        try:
            self.session.flush()
        except IntegrityError as error:
            # Another request changed the same record first; the whole unit of work rolls back.
            raise MovementConflict(
                "the record changed while this movement was processed; try again"
                " / 処理中に記録が更新されました"
            ) from error
        return resident
