"""The local-government list derived from the postal data."""

from __future__ import annotations

from collections import Counter

import pytest

from kiban.core.identifiers import local_government_check_digit
from kiban.registry.localgov.derive import (
    MUNICIPALITY_KINDS,
    LocalGovernmentEntry,
    LocalGovernmentKind,
    derive_local_governments,
)
from kiban.registry.postal import iter_records


@pytest.fixture(scope="module")
def bodies() -> dict[str, LocalGovernmentEntry]:
    return {entry.code: entry for entry in derive_local_governments(iter_records())}


def test_counts_match_the_national_list(bodies: dict[str, LocalGovernmentEntry]) -> None:
    kinds = Counter(entry.kind for entry in bodies.values())
    assert kinds[LocalGovernmentKind.PREFECTURE] == 47
    assert kinds[LocalGovernmentKind.SPECIAL_WARD] == 23
    assert kinds[LocalGovernmentKind.DESIGNATED_CITY] == 20
    assert sum(kinds[kind] for kind in MUNICIPALITY_KINDS) == 1741


def test_every_code_carries_a_valid_check_digit(bodies: dict[str, LocalGovernmentEntry]) -> None:
    for code in bodies:
        assert code[5] == local_government_check_digit(code[:5]), code


@pytest.mark.parametrize(
    ("code", "name", "kana", "kind", "parent"),
    [
        ("130001", "東京都", "トウキョウト", LocalGovernmentKind.PREFECTURE, None),
        ("131016", "千代田区", "チヨダク", LocalGovernmentKind.SPECIAL_WARD, None),
        ("011002", "札幌市", "サッポロシ", LocalGovernmentKind.DESIGNATED_CITY, None),
        ("271004", "大阪市", "オオサカシ", LocalGovernmentKind.DESIGNATED_CITY, None),
        ("271276", "大阪市北区", "オオサカシキタク", LocalGovernmentKind.WARD, "271004"),
        ("221309", "浜松市", "ハママツシ", LocalGovernmentKind.DESIGNATED_CITY, None),
        ("143219", "寒川町", "サムカワマチ", LocalGovernmentKind.TOWN, None),
        ("133817", "三宅村", "ミヤケムラ", LocalGovernmentKind.VILLAGE, None),
        ("134023", "青ヶ島村", "アオガシマムラ", LocalGovernmentKind.VILLAGE, None),
        ("103446", "榛東村", "シントウムラ", LocalGovernmentKind.VILLAGE, None),
        ("132012", "八王子市", "ハチオウジシ", LocalGovernmentKind.CITY, None),
    ],
)
def test_known_bodies(
    bodies: dict[str, LocalGovernmentEntry],
    code: str,
    name: str,
    kana: str,
    kind: LocalGovernmentKind,
    parent: str | None,
) -> None:
    body = bodies[code]
    assert (body.name, body.kana, body.kind, body.parent_code) == (name, kana, kind, parent)


def test_towns_keep_their_county_apart(bodies: dict[str, LocalGovernmentEntry]) -> None:
    samukawa = bodies["143219"]
    assert samukawa.county == "高座郡"
    assert samukawa.postal_name == "高座郡寒川町"


def test_wards_belong_to_the_designated_city_of_their_prefecture(
    bodies: dict[str, LocalGovernmentEntry],
) -> None:
    wards = [entry for entry in bodies.values() if entry.kind is LocalGovernmentKind.WARD]
    assert len(wards) > 150
    for ward in wards:
        assert ward.parent_code is not None
        city = bodies[ward.parent_code]
        assert city.kind is LocalGovernmentKind.DESIGNATED_CITY
        assert ward.name.startswith(city.name)
        assert ward.prefecture_code == city.prefecture_code
