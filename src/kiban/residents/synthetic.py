"""A synthetic population: households of made-up residents on real towns, for demos and load.

Names are Faker ``ja_JP``'s name pairs, so each reading belongs to its name; family members
share the family name.  Ages follow Japan's population pyramid, parents are 20–42 years older
than their children, and every household lives in a real town (町字) of its municipality, in a
designated city's wards for a designated city.  Each person gets one 出生 or 転入 movement and
valid check digits on every number.

Everything comes from one :class:`random.Random` per tenant, seeded with the seed and the
tenant's code, so the same seed always gives the same rows, whichever tenants are seeded with it.
Rows are built as plain dictionaries and inserted in batches with Core ``INSERT``s: a million
residents take minutes, not hours.
"""

from __future__ import annotations

import bisect
import itertools
import random
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from faker.providers.person.ja_JP import Provider as JapaneseNames
from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from kiban.core.crypto import PersonalNumberHasher
from kiban.core.database import Base
from kiban.registry.addresses.models import Town
from kiban.registry.addresses.text import kanji_number
from kiban.registry.localgov.derive import MUNICIPALITY_KINDS
from kiban.registry.localgov.models import LocalGovernment
from kiban.registry.synthetic import day_between, split_evenly
from kiban.residents.codes import MovementKind, Relationship, ResidentStatus, Sex
from kiban.residents.models import Household, Resident, ResidentMovement
from kiban.residents.repository import ResidentRepository
from kiban.tenants.service import TenantService

# The day the synthetic population is "as of": fixed, so that a seed always gives the same ages.
REFERENCE_DATE = date(2025, 4, 1)
DEMO_MUNICIPALITIES = ("131016", "132012", "271004")  # 千代田区, 八王子市, 大阪市 (in its wards)
DEMO_RESIDENTS = 3_000
DEMO_SEED = 20240618  # the day the basic policy was adopted
BATCH_RESIDENTS = 5_000

# Population by 5-year age group, 0–4 … 95–99 and 100+, in thousands: the 2020 census
# (令和2年国勢調査), rounded.  Only the shape matters.
AGE_PYRAMID = (
    4541, 5114, 5376, 5706, 6320, 6384, 6714, 7498, 8476, 9868, 8738,
    7940, 7442, 8236, 9189, 7065, 5412, 3598, 1719, 450, 80,
)  # fmt: skip
MAX_AGE = 104

# Household types and their shares of households, after the 2020 census's family types.
HOUSEHOLD_TYPES = (
    ("single", 38),
    ("couple", 20),
    ("couple_with_children", 25),
    ("single_parent", 9),
    ("three_generations", 7),
    ("siblings_or_lodger", 1),
)

_BUILDINGS = (
    "グリーンハイツ",
    "コーポ桜",
    "サンハイム",
    "メゾン若葉",
    "パークレジデンス",
    "リバーサイドマンション",
    "ロイヤルコート",
    "ひまわり荘",
)
# Postal rows that are not one town: ranges of 地割 (左草１地割〜左草), lists, remarks.
_NOT_ONE_TOWN = re.compile(r"[()（）、～〜「」]|場合")


class SeedError(ValueError):
    """The seed cannot run as asked; nothing has been written."""


@dataclass(frozen=True, slots=True)
class TownChoice:
    lg_code: str
    name: str
    has_chome: bool


@dataclass(frozen=True, slots=True)
class SeedResult:
    tenants: tuple[str, ...]
    residents: int
    households: int
    already_seeded: bool = False


@dataclass(slots=True)
class _HouseholdRows:
    household: dict[str, Any]
    residents: list[dict[str, Any]] = field(default_factory=list)
    movements: list[dict[str, Any]] = field(default_factory=list)


# Plain strings for the database driver, looked up once rather than per row.
_RESIDENT = ResidentStatus.RESIDENT.value
_BIRTH = MovementKind.BIRTH.value
_MOVING_IN = MovementKind.MOVING_IN.value


@dataclass(slots=True)
class _Member:
    relationship: Relationship
    sex: Sex
    age: int
    family: tuple[str, str]  # (kanji, kana) family name
    birth_date: date = field(default=REFERENCE_DATE)


class _NamePools:
    """Faker ja_JP's (kanji, kana) pairs, drawn with cumulative weights for family names."""

    def __init__(self) -> None:
        pairs = list(JapaneseNames.last_name_pairs.items())
        self.family = [(kanji, kana) for (kanji, kana, _romaji), _weight in pairs]
        self.family_weights = list(itertools.accumulate(weight for _pair, weight in pairs))
        self.male = [(kanji, kana) for kanji, kana, _romaji in JapaneseNames.first_name_male_pairs]
        self.female = [
            (kanji, kana) for kanji, kana, _romaji in JapaneseNames.first_name_female_pairs
        ]

    def family_name(self, rng: random.Random) -> tuple[str, str]:
        return rng.choices(self.family, cum_weights=self.family_weights)[0]

    def given_name(self, rng: random.Random, sex: Sex) -> tuple[str, str]:
        return rng.choice(self.male if sex is Sex.MALE else self.female)


class _Ages:
    """Ages drawn from the pyramid, optionally within a range of years."""

    def __init__(self) -> None:
        per_year = [AGE_PYRAMID[min(age // 5, len(AGE_PYRAMID) - 1)] / 5 for age in range(105)]
        self.cumulative = list(itertools.accumulate(per_year))

    def draw(self, rng: random.Random, low: int = 0, high: int = MAX_AGE) -> int:
        floor = self.cumulative[low - 1] if low > 0 else 0.0
        point = rng.uniform(floor, self.cumulative[high])
        return min(bisect.bisect_left(self.cumulative, point), high)


class PopulationGenerator:
    """Rows of households, residents and movements for one tenant at a time."""

    def __init__(self, seed: int, hasher: PersonalNumberHasher) -> None:
        self.seed = seed
        self.hasher = hasher
        self.names = _NamePools()
        self.ages = _Ages()

    def households(
        self, tenant_code: str, towns: Sequence[TownChoice], residents: int
    ) -> Iterator[_HouseholdRows]:
        """One tenant's households with exactly ``residents`` residents, as rows to insert."""
        rng = random.Random(f"kiban-synthetic:{self.seed}:{tenant_code}")
        numbers = _NumberSource(rng)
        remaining = residents
        last_moving_in = REFERENCE_DATE - timedelta(days=30)
        while remaining > 0:
            members = self._household(rng)[:remaining]
            remaining -= len(members)
            household_number = numbers.household_number()
            address = self._address(rng, towns)
            earliest = max(_years_after(members[0].birth_date, 18), date(1985, 4, 1))
            moved_in = day_between(rng, earliest, last_moving_in)
            rows = _HouseholdRows(
                {
                    "tenant_code": tenant_code,
                    "household_number": household_number,
                    "formed_on": moved_in,
                }
            )
            for member in members:
                addressee_number = numbers.addressee_number()
                born_here = member.birth_date >= moved_in
                occurred = member.birth_date if born_here else moved_in
                notified = min(occurred + timedelta(days=rng.randrange(14)), REFERENCE_DATE)
                given_name, given_name_kana = self.names.given_name(rng, member.sex)
                rows.residents.append(
                    {
                        "tenant_code": tenant_code,
                        "addressee_number": addressee_number,
                        "resident_record_code": numbers.resident_record_code(),
                        "personal_number_hash": self.hasher.hash(numbers.personal_number()),
                        "family_name": member.family[0],
                        "given_name": given_name,
                        "family_name_kana": member.family[1],
                        "given_name_kana": given_name_kana,
                        "birth_date": member.birth_date,
                        "sex": member.sex.value,
                        "household_number": household_number,
                        "relationship": member.relationship.value,
                        **address,
                        "became_resident_on": occurred,
                        "address_set_on": occurred,
                        "notified_on": notified,
                        "status": _RESIDENT,
                        "removed_on": None,
                    }
                )
                rows.movements.append(
                    {
                        "tenant_code": tenant_code,
                        "addressee_number": addressee_number,
                        "sequence": 1,
                        "kind": _BIRTH if born_here else _MOVING_IN,
                        "occurred_on": occurred,
                        "notified_on": notified,
                        "household_number": household_number,
                        "relationship": member.relationship.value,
                        **address,
                        # Recorded on the day of notification, at 09:00 in Japan.
                        "recorded_at": datetime(
                            notified.year, notified.month, notified.day, tzinfo=UTC
                        ),
                    }
                )
            yield rows

    # Households -------------------------------------------------------------------------

    def _household(self, rng: random.Random) -> list[_Member]:
        """Members, the head first and the youngest generation last."""
        kind = rng.choices(
            [name for name, _ in HOUSEHOLD_TYPES], weights=[share for _, share in HOUSEHOLD_TYPES]
        )[0]
        family = self.names.family_name(rng)
        if kind == "single":
            sex = rng.choice((Sex.MALE, Sex.FEMALE))
            members = [_Member(Relationship.HEAD, sex, self.ages.draw(rng, 18), family)]
        elif kind == "couple":
            # Most couples living on their own are past 65: their children have left.
            elderly = rng.random() < 0.6
            head_age = self.ages.draw(rng, 65, 95) if elderly else self.ages.draw(rng, 23, 64)
            members = self._couple(rng, family, head_age)
        elif kind == "couple_with_children":
            # Elderly parents often live with grown-up, unmarried children.
            members = self._couple(rng, family, self.ages.draw(rng, 25, 90))
            members += self._children(rng, members, family, Relationship.CHILD)
        elif kind == "single_parent":
            sex = Sex.FEMALE if rng.random() < 0.85 else Sex.MALE
            members = [_Member(Relationship.HEAD, sex, self.ages.draw(rng, 25, 90), family)]
            members += self._children(rng, members, family, Relationship.CHILD)
        elif kind == "three_generations":
            members = self._three_generations(rng, family)
        else:
            members = self._siblings_or_lodger(rng, family)
        for member in members:
            days_since_birthday = rng.randrange(365)
            member.birth_date = _years_before(REFERENCE_DATE, member.age) - timedelta(
                days=days_since_birthday
            )
        return members[:6]

    def _couple(self, rng: random.Random, family: tuple[str, str], head_age: int) -> list[_Member]:
        spouse_age = max(20, min(MAX_AGE, head_age + round(rng.gauss(-2, 3))))
        if rng.random() < 0.9:
            return [
                _Member(Relationship.HEAD, Sex.MALE, head_age, family),
                _Member(Relationship.WIFE, Sex.FEMALE, spouse_age, family),
            ]
        return [
            _Member(Relationship.HEAD, Sex.FEMALE, head_age, family),
            _Member(Relationship.HUSBAND, Sex.MALE, spouse_age, family),
        ]

    def _children(
        self,
        rng: random.Random,
        parents: list[_Member],
        family: tuple[str, str],
        relationship: Relationship,
    ) -> list[_Member]:
        """1–4 children, born when the younger parent was 20–42, living at home up to 55."""
        younger_parent = min(parent.age for parent in parents)
        oldest = min(younger_parent - 20, 55)
        youngest = max(younger_parent - 42, 0)
        if oldest < youngest:
            return []
        count = rng.choices((1, 2, 3, 4), weights=(45, 42, 12, 1))[0]
        ages = sorted((rng.randint(youngest, oldest) for _ in range(count)), reverse=True)
        return [
            _Member(relationship, rng.choice((Sex.MALE, Sex.FEMALE)), age, family) for age in ages
        ]

    def _three_generations(self, rng: random.Random, family: tuple[str, str]) -> list[_Member]:
        if rng.random() < 0.5:
            # A working-age couple with their children and the head's (or wife's) parents.
            members = self._couple(rng, family, self.ages.draw(rng, 30, 59))
            children = self._children(rng, members, family, Relationship.CHILD)[:2]
            head_age = members[0].age
            wifes_side = members[0].sex is Sex.MALE and rng.random() < 0.15
            parents_family = self.names.family_name(rng) if wifes_side else family
            father, mother = (
                (Relationship.WIFES_FATHER, Relationship.WIFES_MOTHER)
                if wifes_side
                else (Relationship.FATHER, Relationship.MOTHER)
            )
            elder = min(MAX_AGE, head_age + rng.randint(22, 38))
            grandparents = [_Member(mother, Sex.FEMALE, elder, parents_family)]
            if rng.random() < 0.45:
                grandparents.insert(
                    0, _Member(father, Sex.MALE, min(MAX_AGE, elder + 2), parents_family)
                )
            return members + children + grandparents
        # An elderly head with a married son, his wife and their children.
        members = self._couple(rng, family, self.ages.draw(rng, 62, 85))[: rng.choice((1, 2))]
        son_age = max(22, min(members[-1].age, members[0].age) - rng.randint(24, 36))
        son = _Member(Relationship.CHILD, Sex.MALE, son_age, family)
        daughter_in_law = _Member(
            Relationship.CHILDS_WIFE, Sex.FEMALE, max(20, son_age + rng.randint(-4, 2)), family
        )
        grandchildren = self._children(
            rng, [son, daughter_in_law], family, Relationship.GRANDCHILD
        )[:2]
        return [*members, son, daughter_in_law, *grandchildren]

    def _siblings_or_lodger(self, rng: random.Random, family: tuple[str, str]) -> list[_Member]:
        head = _Member(
            Relationship.HEAD, rng.choice((Sex.MALE, Sex.FEMALE)), self.ages.draw(rng, 20), family
        )
        if rng.random() < 0.6:
            sex = rng.choice((Sex.MALE, Sex.FEMALE))
            age = max(18, min(MAX_AGE, head.age + rng.randint(-8, 8)))
            younger = age < head.age
            relationship = {
                (Sex.MALE, True): Relationship.YOUNGER_BROTHER,
                (Sex.MALE, False): Relationship.ELDER_BROTHER,
                (Sex.FEMALE, True): Relationship.YOUNGER_SISTER,
                (Sex.FEMALE, False): Relationship.ELDER_SISTER,
            }[(sex, younger)]
            return [head, _Member(relationship, sex, age, family)]
        lodger_age = self.ages.draw(rng, 18)
        lodger_sex = rng.choice((Sex.MALE, Sex.FEMALE))
        lodger = _Member(Relationship.LODGER, lodger_sex, lodger_age, self.names.family_name(rng))
        return [head, lodger]

    # Addresses --------------------------------------------------------------------------

    def _address(self, rng: random.Random, towns: Sequence[TownChoice]) -> dict[str, Any]:
        town = rng.choice(towns)
        if town.has_chome:
            chome = rng.choices(range(1, 7), weights=(30, 25, 19, 13, 8, 5))[0]
            town_name = town.name + kanji_number(chome) + "丁目"
            banchi = f"{rng.randint(1, 30)}-{rng.randint(1, 25)}"
        else:
            town_name = town.name
            number = rng.randint(1, 2500)
            banchi = f"{number}-{rng.randint(1, 20)}" if rng.random() < 0.5 else str(number)
        katagaki = None
        if rng.random() < 0.35:
            room = rng.randint(1, 8) * 100 + rng.randint(1, 6)
            katagaki = f"{rng.choice(_BUILDINGS)}{room}号室"
        return {
            "lg_code": town.lg_code,
            "town_name": town_name,
            "banchi": banchi,
            "katagaki": katagaki,
        }


class _CheckDigits:
    """The check digits of kiban.core.identifiers, by table look-ups of 3-digit blocks.

    A weighted digit sum is the sum of each block's share, so a million numbers take a
    second instead of ten.  Tests compare every kind with the validators it mirrors.
    """

    def __init__(self, length: int, share: Callable[[int, int], int]) -> None:
        # share(position from the right, digit) is what one digit adds to the sum.
        self.slices: list[slice] = []
        self.tables: list[dict[str, int]] = []
        for start in range(0, length, 3):
            end = min(start + 3, length)
            table = {}
            for value in range(10 ** (end - start)):
                block = str(value).zfill(end - start)
                table[block] = sum(
                    share(length - 1 - (start + offset), int(digit))
                    for offset, digit in enumerate(block)
                )
            self.slices.append(slice(start, end))
            self.tables.append(table)

    def total(self, digits: str) -> int:
        return sum(map(dict.__getitem__, self.tables, map(digits.__getitem__, self.slices)))


def _luhn_share(position: int, digit: int) -> int:
    doubled = digit * 2
    return (doubled - 9 if doubled > 9 else doubled) if position % 2 == 0 else digit


_PERSONAL_WEIGHTS = (2, 3, 4, 5, 6, 7, 2, 3, 4, 5, 6)
_RESIDENT_WEIGHTS = (2, 3, 4, 5, 6, 7, 2, 3, 4, 5)
_SERIAL = _CheckDigits(9, _luhn_share)
_PERSONAL = _CheckDigits(11, lambda position, digit: digit * _PERSONAL_WEIGHTS[position])
_RESIDENT_CODE = _CheckDigits(10, lambda position, digit: digit * _RESIDENT_WEIGHTS[position])


def fast_numbered(serial: int) -> str:
    """:func:`kiban.residents.service.numbered`, fast: a 9-digit serial and its Luhn digit."""
    digits = str(serial).zfill(9)
    return digits + str(-_SERIAL.total(digits) % 10)


class _NumberSource:
    """Every number a tenant's residents get, unique within the tenant.

    宛名番号 and 世帯番号 are serials.  個人番号 and 住民票コード come from affine permutations
    of a counter, ``i ↦ (a·i + b) mod 10^k`` with ``a`` coprime to 10, which visit every
    k-digit number once: unique without remembering the numbers already given.
    """

    def __init__(self, rng: random.Random) -> None:
        self.personal = _Permutation(rng, 10**11)
        self.resident = _Permutation(rng, 10**10)
        self.addressee_serial = 0
        self.household_serial = 0

    def addressee_number(self) -> str:
        self.addressee_serial += 1
        return fast_numbered(self.addressee_serial)

    def household_number(self) -> str:
        self.household_serial += 1
        return fast_numbered(self.household_serial)

    def personal_number(self) -> str:
        base = str(self.personal.next()).zfill(11)
        remainder = _PERSONAL.total(base) % 11
        return base + ("0" if remainder <= 1 else str(11 - remainder))

    def resident_record_code(self) -> str:
        while True:
            base = str(self.resident.next()).zfill(10)
            check = -_RESIDENT_CODE.total(base) % 11
            if check != 10:  # about 1 base in 11 has no check digit and is never issued
                return base + str(check)


class _Permutation:
    def __init__(self, rng: random.Random, modulus: int) -> None:
        self.modulus = modulus
        self.multiplier = rng.randrange(modulus // 10, modulus) | 1
        while self.multiplier % 5 == 0:
            self.multiplier += 2
        self.offset = rng.randrange(modulus)
        self.counter = 0

    def next(self) -> int:
        self.counter += 1
        return (self.multiplier * self.counter + self.offset) % self.modulus


def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year + years, day=28)


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year - years, day=28)


# Loading towns and writing rows ---------------------------------------------------------


def residential_towns(session: Session, tenant_codes: Sequence[str]) -> dict[str, list[TownChoice]]:
    """For each tenant, its towns (町字) by name, skipping the postal catch-all rows.

    A designated city's towns are those of its wards, with the ward's code.
    """
    wanted = set(tenant_codes)
    statement = (
        select(Town.lg_code, LocalGovernment.parent_code, Town.name, Town.has_chome, Town.note)
        .join(LocalGovernment, LocalGovernment.code == Town.lg_code)
        .where(Town.name != "")
    )
    chome_by_town: dict[tuple[str, str, str], bool] = {}
    for lg_code, parent_code, name, has_chome, note in session.execute(statement):
        tenant = parent_code or lg_code
        if tenant not in wanted or _NOT_ONE_TOWN.search(name) or (note and "階" in note):
            continue  # the floors of one building are not towns either
        key = (tenant, lg_code, name)
        chome_by_town[key] = chome_by_town.get(key, False) or has_chome
    towns: dict[str, list[TownChoice]] = {code: [] for code in tenant_codes}
    for (tenant, lg_code, name), has_chome in sorted(chome_by_town.items()):
        towns[tenant].append(TownChoice(lg_code, name, has_chome))
    for tenant, choices in towns.items():
        if not choices:
            # A few villages (小菅村) have no 町字 at all: addresses go straight to the 番地.
            choices.append(TownChoice(tenant, "", has_chome=False))
    return towns


def all_municipality_codes(session: Session) -> list[str]:
    statement = (
        select(LocalGovernment.code)
        .where(LocalGovernment.kind.in_([kind.value for kind in MUNICIPALITY_KINDS]))
        .order_by(LocalGovernment.code)
    )
    return list(session.scalars(statement))


def seed_population(
    session: Session,
    tenant_codes: Sequence[str],
    residents: int,
    seed: int,
    hasher: PersonalNumberHasher,
    progress: Callable[[int], None] = lambda _count: None,
) -> SeedResult:
    """Enable the tenants and give them ``residents`` residents in all, split evenly.

    Refuses, before writing anything, when a code is not a municipality or a tenant already
    has residents.  Flushes but never commits.
    """
    if residents <= 0:
        raise SeedError("the number of residents must be at least 1 / 住民数は1以上です")
    tenants = TenantService(session)
    codes = list(dict.fromkeys(tenants.municipality(code).code for code in tenant_codes))
    if not codes:
        raise SeedError("no municipality given / 市区町村が指定されていません")
    populated = _tenants_with_residents(session, codes)
    if populated:
        raise SeedError(f"tenant {populated[0]} already has residents / 既に住民が登録されています")
    towns = residential_towns(session, codes)
    tenants.enable_many(codes)
    if session.get_bind().dialect.name == "sqlite":
        # Index pages of a million rows do not fit SQLite's default 2 MB cache.
        session.execute(text("PRAGMA cache_size = -262144"))
    generator = PopulationGenerator(seed, hasher)
    buffer = _Buffer(session, progress)
    for code, count in zip(codes, split_evenly(residents, len(codes)), strict=True):
        for rows in generator.households(code, towns[code], count):
            buffer.add(rows)
    buffer.write()
    return SeedResult(tuple(codes), residents, buffer.households)


def _tenants_with_residents(session: Session, codes: Sequence[str]) -> list[str]:
    # An administrative check across the tenants being seeded, not a read of anyone's records.
    statement = (
        select(Resident.tenant_code)
        .where(Resident.tenant_code.in_(codes))
        .group_by(Resident.tenant_code)
        .order_by(Resident.tenant_code)
    )
    return list(session.scalars(statement))


class _Buffer:
    """Rows collected across tenants and written BATCH_RESIDENTS residents at a time."""

    def __init__(self, session: Session, progress: Callable[[int], None]) -> None:
        self.session = session
        self.progress = progress
        self.households = 0
        self._households: list[dict[str, Any]] = []
        self._residents: list[dict[str, Any]] = []
        self._movements: list[dict[str, Any]] = []

    def add(self, rows: _HouseholdRows) -> None:
        self._households.append(rows.household)
        self._residents.extend(rows.residents)
        self._movements.extend(rows.movements)
        if len(self._residents) >= BATCH_RESIDENTS:
            self.write()

    def write(self) -> None:
        if not self._households:
            return
        # Core inserts of plain dictionaries, parents first: no ORM bookkeeping per row.
        tables = Base.metadata.tables
        self.session.execute(insert(tables[Household.__tablename__]), self._households)
        self.session.execute(insert(tables[Resident.__tablename__]), self._residents)
        self.session.execute(insert(tables[ResidentMovement.__tablename__]), self._movements)
        self.households += len(self._households)
        self.progress(len(self._residents))
        self._households, self._residents, self._movements = [], [], []


def seed_demo(
    session: Session,
    hasher: PersonalNumberHasher,
    progress: Callable[[int], None] = lambda _count: None,
) -> SeedResult:
    """The demo population; a tenant that already has residents is left as it is."""
    per_tenant = DEMO_RESIDENTS // len(DEMO_MUNICIPALITIES)
    missing = [
        code
        for code in DEMO_MUNICIPALITIES
        if not ResidentRepository(session, code).has_residents()
    ]
    if not missing:
        return SeedResult(DEMO_MUNICIPALITIES, 0, 0, already_seeded=True)
    return seed_population(session, missing, per_tenant * len(missing), DEMO_SEED, hasher, progress)
