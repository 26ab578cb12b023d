"""Generating synthetic corporations: deterministic, valid, on real towns, refused when wrong."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kiban.core.identifiers import validate_corporate_number
from kiban.registry.addresses.models import Town
from kiban.registry.addresses.text import kanji_number
from kiban.registry.corporations.models import Corporation, CorporationKind
from kiban.registry.corporations.synthetic import (
    SeedError,
    generate_corporations,
    local_government_corporate_number,
)
from kiban.registry.localgov.models import LocalGovernment

from .conftest import COMPANIES, MUNICIPALITIES, SEED

_CHOME = re.compile(r"^(?P<town>.+?)(?P<chome>[一二三四五六七八九十]+)丁目$")
_KATAKANA = re.compile(r"^[ァ-ヶー]+$")


def _rows(session: Session) -> list[tuple[object, ...]]:
    """Every corporation's columns but the time it was written."""
    statement = select(
        Corporation.number,
        Corporation.name,
        Corporation.kana,
        Corporation.kind,
        Corporation.lg_code,
        Corporation.town_name,
        Corporation.banchi,
        Corporation.established_on,
        Corporation.closed_on,
        Corporation.synthetic,
    ).order_by(Corporation.number)
    return [tuple(row) for row in session.execute(statement)]


def _count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Corporation)) or 0


def test_the_same_seed_gives_the_same_rows(db_session: Session) -> None:
    assert generate_corporations(db_session, MUNICIPALITIES, COMPANIES, SEED) == COMPANIES + 3
    first = _rows(db_session)
    db_session.rollback()
    assert _count(db_session) == 0
    generate_corporations(db_session, MUNICIPALITIES, COMPANIES, SEED)
    assert _rows(db_session) == first
    db_session.rollback()
    generate_corporations(db_session, MUNICIPALITIES, COMPANIES, SEED + 1)
    assert _rows(db_session) != first


def test_every_number_is_valid_and_every_row_synthetic(db_session: Session, seeded: int) -> None:
    corporations = list(db_session.scalars(select(Corporation)))
    assert len(corporations) == seeded == COMPANIES + len(MUNICIPALITIES)
    for corporation in corporations:
        assert validate_corporate_number(corporation.number) == corporation.number
        assert corporation.synthetic
        assert _KATAKANA.match(corporation.kana), corporation.kana
    companies = [c for c in corporations if c.kind != CorporationKind.LOCAL_GOVERNMENT]
    # Registry office 90 + prefecture: outside the real offices' 0100–5000.
    assert {c.number[1:5] for c in companies} == {"9013", "9014", "9027"}


def test_each_municipality_is_a_local_government_corporation(
    db_session: Session, seeded: int
) -> None:
    bodies = db_session.scalars(
        select(Corporation)
        .where(Corporation.kind == CorporationKind.LOCAL_GOVERNMENT)
        .order_by(Corporation.number)
    ).all()
    assert [(body.number, body.name, body.kana) for body in bodies] == [
        ("6000020271004", "大阪市", "オオサカシ"),
        ("7000020143219", "寒川町", "サムカワマチ"),
        ("8000020131016", "千代田区", "チヨダク"),
    ]
    assert all(body.established_on is None for body in bodies)


def test_local_government_numbers_follow_the_national_rule() -> None:
    assert local_government_corporate_number("130001") == "8000020130001"  # 東京都
    assert local_government_corporate_number("011002") == "9000020011002"  # 札幌市


def test_head_offices_are_on_real_towns_of_the_municipality(
    db_session: Session, seeded: int
) -> None:
    towns = {
        (lg_code, name): has_chome
        for lg_code, name, has_chome in db_session.execute(
            select(Town.lg_code, Town.name, Town.has_chome)
        )
    }
    areas = {
        code: parent or code
        for code, parent in db_session.execute(
            select(LocalGovernment.code, LocalGovernment.parent_code)
        )
    }
    for corporation in db_session.scalars(select(Corporation)):
        assert areas[corporation.lg_code] in MUNICIPALITIES
        chome = _CHOME.match(corporation.town_name)
        if (corporation.lg_code, corporation.town_name) in towns:
            assert not towns[(corporation.lg_code, corporation.town_name)]
        else:
            assert chome, corporation.town_name
            assert towns[(corporation.lg_code, chome["town"])] is True
        assert corporation.town_name
        assert re.fullmatch(r"[0-9]+(-[0-9]+)?", corporation.banchi)


def test_a_designated_city_s_corporations_are_in_its_wards(
    db_session: Session, seeded: int
) -> None:
    osaka = set(
        db_session.scalars(select(Corporation.lg_code).where(Corporation.lg_code.like("271%")))
    )
    assert len(osaka) > 1
    parents = db_session.scalars(
        select(LocalGovernment.parent_code).where(LocalGovernment.code.in_(osaka))
    ).all()
    assert set(parents) == {"271004"}


def test_kinds_and_founding_dates_follow_the_law(db_session: Session) -> None:
    generate_corporations(db_session, ["131016"], 600, SEED)
    corporations = db_session.scalars(select(Corporation)).all()
    by_kind: dict[str, list[Corporation]] = {}
    for corporation in corporations:
        by_kind.setdefault(corporation.kind, []).append(corporation)
    assert {"301", "302", "305", "399"} <= set(by_kind)
    assert len(by_kind["301"]) > len(by_kind["302"]) > len(by_kind["305"])
    for corporation in by_kind["302"]:
        assert corporation.established_on is not None
        assert corporation.established_on < date(2006, 5, 1)
        assert "有限会社" in corporation.name
    for corporation in by_kind["305"]:
        assert corporation.established_on is not None
        assert corporation.established_on >= date(2006, 5, 1)
    for corporation in corporations:
        if corporation.closed_on is not None:
            assert corporation.established_on is not None
            assert corporation.closed_on > corporation.established_on


def test_the_kana_leaves_out_the_legal_form(db_session: Session, seeded: int) -> None:
    legal_form_readings = ("カブシキガイシャ", "ユウゲンガイシャ", "ゴウドウガイシャ", "ホウジン")
    for name, kana in db_session.execute(select(Corporation.name, Corporation.kana)):
        assert not any(reading in kana for reading in legal_form_readings), (name, kana)
    readings = dict(db_session.execute(select(Corporation.name, Corporation.kana)).all())
    assert readings["大阪市"] == "オオサカシ"


def test_an_existing_local_government_row_is_kept(db_session: Session) -> None:
    assert generate_corporations(db_session, ["131016"], 0, SEED) == 1
    assert generate_corporations(db_session, ["131016"], 5, SEED) == 5
    assert _count(db_session) == 6


def test_numbers_continue_after_those_in_use(db_session: Session) -> None:
    generate_corporations(db_session, ["131016"], 40, SEED)
    generate_corporations(db_session, ["132012"], 40, SEED)  # 八王子市, the same prefecture
    assert _count(db_session) == 82


@pytest.mark.parametrize(
    ("codes", "count", "message"),
    [
        (["131017"], 5, "check digit"),
        (["999997"], 5, "no local government has the code 999997"),
        (["271276"], 5, "is a ward"),
        (["130001"], 5, "is not a municipality"),
        ([], 5, "no municipality given"),
        (["131016"], -1, "cannot be negative"),
    ],
)
def test_wrong_requests_are_refused_before_writing(
    db_session: Session, codes: list[str], count: int, message: str
) -> None:
    with pytest.raises(SeedError, match=message):
        generate_corporations(db_session, codes, count, SEED)
    assert _count(db_session) == 0


def test_a_seeded_municipality_is_not_seeded_twice(db_session: Session, seeded: int) -> None:
    with pytest.raises(SeedError, match="already seeded with synthetic companies: 271004 /"):
        generate_corporations(db_session, ["133078", "271004"], 5, SEED)
    assert _count(db_session) == seeded


@pytest.mark.parametrize(
    ("number", "kanji"),
    [(1, "一"), (4, "四"), (10, "十"), (12, "十二"), (20, "二十"), (23, "二十三")],
)
def test_kanji_numbers(number: int, kanji: str) -> None:
    assert kanji_number(number) == kanji
