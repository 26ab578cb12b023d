"""Derive the list of local governments (全国地方公共団体) from the postal data.

The postal rows name each municipality or ward with its JIS X 0402 code. Bodies
that own no postal rows themselves are derived from the ones that do:
prefectures from the first two digits, and each designated city (政令指定都市)
from its wards, whose codes follow the city's own (大阪市 27100 → 北区 27127).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from os.path import commonprefix

from kiban.core.identifiers import local_government_code
from kiban.registry.postal import PostalRecord


class LocalGovernmentKind(StrEnum):
    PREFECTURE = "prefecture"
    DESIGNATED_CITY = "designated_city"
    WARD = "ward"
    CITY = "city"
    SPECIAL_WARD = "special_ward"
    TOWN = "town"
    VILLAGE = "village"


MUNICIPALITY_KINDS = frozenset(
    {
        LocalGovernmentKind.DESIGNATED_CITY,
        LocalGovernmentKind.CITY,
        LocalGovernmentKind.SPECIAL_WARD,
        LocalGovernmentKind.TOWN,
        LocalGovernmentKind.VILLAGE,
    }
)

TOKYO = "東京都"
_WARD_OF_CITY = re.compile(r"^(?P<city>.+?市)(?P<ward>.+区)$")
_COUNTY_TOWN = re.compile(r"^(?P<county>.+?郡)(?P<name>.+[町村])$")
# Tokyo's island towns are written with their island first (三宅島三宅村);
# 青ヶ島村 is itself a name.
_ISLAND_TOWN = re.compile(r"^(?P<island>.+島)(?P<name>.+[町村])$")


@dataclass(frozen=True, slots=True)
class LocalGovernmentEntry:
    code: str  # 6 digits with check digit
    name: str
    kana: str
    kind: LocalGovernmentKind
    prefecture_code: str
    parent_code: str | None
    # The city as postal data writes it (with 郡 or island); None for bodies without postal rows.
    postal_name: str | None
    county: str | None


def designated_city_of(postal_name: str) -> str | None:
    """The designated city a ward's postal name belongs to (大阪市北区 → 大阪市), or None."""
    ward = _WARD_OF_CITY.match(postal_name)
    return ward["city"] if ward else None


def designated_city_jis_code(ward_jis_codes: Iterable[str]) -> str:
    """A designated city's own 5-digit JIS code, from its wards' codes.

    The city's code ends in 0 and its wards are numbered right after it (大阪市 27100, 北区 27127).
    """
    return f"{min(int(code) for code in ward_jis_codes) // 10 * 10:05d}"


def _reading_prefixes(reading: str, marker: str) -> set[str]:
    """Every prefix of ``reading`` that ends with ``marker`` (グン for 郡, ジマ/シマ for 島)."""
    return {reading[: match.end()] for match in re.finditer(marker, reading)}


def _county_readings(records: Iterable[PostalRecord]) -> dict[tuple[str, str], str]:
    """The reading of each county (郡): the グン-ending prefix that all its towns share.

    A county's own name may contain グン (北群馬郡 キタグンマグン), so the first
    グン is not always the end of the county.
    """
    candidates: dict[tuple[str, str], set[str]] = {}
    for record in records:
        if match := _COUNTY_TOWN.match(record.city):
            key = (record.prefecture, match["county"])
            prefixes = _reading_prefixes(record.city_kana, "グン")
            candidates[key] = candidates.get(key, prefixes) & prefixes
    return {key: max(prefixes, key=len) for key, prefixes in candidates.items() if prefixes}


def _municipality(
    record: PostalRecord, county_readings: dict[tuple[str, str], str]
) -> LocalGovernmentEntry:
    prefecture_code = local_government_code(record.jis_code[:2] + "000")
    code = local_government_code(record.jis_code)
    name, kana, county = record.city, record.city_kana, None
    if record.prefecture == TOKYO and name.endswith("区"):
        kind = LocalGovernmentKind.SPECIAL_WARD
    elif name.endswith("市"):
        kind = LocalGovernmentKind.CITY
    elif name.endswith(("町", "村")):
        kind = LocalGovernmentKind.TOWN if name.endswith("町") else LocalGovernmentKind.VILLAGE
        if match := _COUNTY_TOWN.match(name):
            county, name = match["county"], match["name"]
            kana = kana.removeprefix(county_readings.get((record.prefecture, county), ""))
        elif match := _ISLAND_TOWN.match(name):
            name = match["name"]
            island_reading = min(_reading_prefixes(kana, "[ジシ]マ"), key=len, default="")
            kana = kana.removeprefix(island_reading)
    else:
        raise ValueError(f"cannot classify {record.prefecture}{record.city} ({record.jis_code})")
    return LocalGovernmentEntry(
        code=code,
        name=name,
        kana=kana,
        kind=kind,
        prefecture_code=prefecture_code,
        parent_code=None,
        postal_name=record.city,
        county=county,
    )


def _designated_city_reading(ward_readings: list[str]) -> str:
    """The city's reading is what all its wards' readings share, up to the シ of 市."""
    shared = commonprefix(ward_readings)  # noqa: RUF071 — a character-wise prefix is meant
    return shared[: shared.rindex("シ") + 1]


def derive_local_governments(records: Iterable[PostalRecord]) -> list[LocalGovernmentEntry]:
    """Every prefecture, municipality and ward named by ``records``, in code order."""
    first_by_code: dict[str, PostalRecord] = {}
    for record in records:
        first_by_code.setdefault(record.jis_code, record)

    county_readings = _county_readings(first_by_code.values())
    entries: dict[str, LocalGovernmentEntry] = {}
    wards_by_city: dict[tuple[str, str], list[PostalRecord]] = {}
    for jis_code, record in first_by_code.items():
        prefecture_jis = jis_code[:2] + "000"
        prefecture_code = local_government_code(prefecture_jis)
        if prefecture_code not in entries:
            entries[prefecture_code] = LocalGovernmentEntry(
                code=prefecture_code,
                name=record.prefecture,
                kana=record.prefecture_kana,
                kind=LocalGovernmentKind.PREFECTURE,
                prefecture_code=prefecture_code,
                parent_code=None,
                postal_name=None,
                county=None,
            )
        city = designated_city_of(record.city) if record.prefecture != TOKYO else None
        if city:
            wards_by_city.setdefault((record.prefecture, city), []).append(record)
        else:
            municipality = _municipality(record, county_readings)
            entries[municipality.code] = municipality

    for (_prefecture, city_name), wards in wards_by_city.items():
        city_jis = designated_city_jis_code(ward.jis_code for ward in wards)
        city_code = local_government_code(city_jis)
        prefecture_code = local_government_code(city_jis[:2] + "000")
        entries[city_code] = LocalGovernmentEntry(
            code=city_code,
            name=city_name,
            kana=_designated_city_reading([w.city_kana for w in wards]),
            kind=LocalGovernmentKind.DESIGNATED_CITY,
            prefecture_code=prefecture_code,
            parent_code=None,
            postal_name=None,
            county=None,
        )
        for ward_record in wards:
            ward_code = local_government_code(ward_record.jis_code)
            entries[ward_code] = LocalGovernmentEntry(
                code=ward_code,
                name=ward_record.city,
                kana=ward_record.city_kana,
                kind=LocalGovernmentKind.WARD,
                prefecture_code=prefecture_code,
                parent_code=city_code,
                postal_name=ward_record.city,
                county=None,
            )
    return [entries[code] for code in sorted(entries)]
