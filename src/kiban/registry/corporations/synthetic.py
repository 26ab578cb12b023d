"""Synthetic corporations on real towns, and the local governments themselves as corporations.

Companies' names are built from parts whose readings are known (Faker ``ja_JP``'s family
names with their kana, place names from the registry, and the words below), so every name
comes with a furigana that belongs to it.  Like the 法人番号公表サイト's, the furigana leaves
out the 法人格 (株式会社, 一般社団法人 …).  Kinds, 法人格 and founding dates follow the law:
no 有限会社 founded after the Companies Act (2006-05-01), no 合同会社 before it.

Numbers are valid and cannot be mistaken for real ones.  A company's 12-digit base has the
shape of a 会社法人等番号 (4-digit registry office, 2-digit organisation code, 6-digit
serial), with a registry office ``90`` + prefecture code that no real office has (real ones
are 0100–5000), and serials counted on from the highest one in use.  A local government's
number follows the national rule for 地方公共団体, check digit + ``000020`` + its code, so
it is the number the body really has; its address and dates are made up all the same, so
every generated row is marked ``synthetic``.

Everything comes from one :class:`random.Random` per municipality, seeded with the seed and
the municipality's code: the same seed on the same registry gives the same rows.
"""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from faker.providers.person.ja_JP import Provider as JapaneseNames
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from kiban.core.database import Base
from kiban.core.identifiers import (
    InvalidIdentifier,
    corporate_number_check_digit,
    validate_local_government_code,
)
from kiban.registry.addresses.models import Town
from kiban.registry.addresses.text import kanji_number
from kiban.registry.corporations.models import Corporation, CorporationKind
from kiban.registry.corporations.repository import CorporationRepository
from kiban.registry.localgov.derive import MUNICIPALITY_KINDS, LocalGovernmentKind
from kiban.registry.localgov.models import LocalGovernment
from kiban.registry.synthetic import day_between, split_evenly

# The day the synthetic registry is "as of": fixed, so that a seed always gives the same dates.
REFERENCE_DATE = date(2025, 4, 1)
COMPANIES_ACT = date(2006, 5, 1)  # no new 有限会社 from this day; 合同会社 from this day
GENERAL_INCORPORATED_ACT = date(2008, 12, 1)  # 一般社団法人・一般財団法人
NPO_ACT = date(1998, 12, 1)  # 特定非営利活動法人
EARLIEST_FOUNDING = date(1950, 1, 1)
CLOSED_SHARE = 0.07
BATCH_ROWS = 5_000

LOCAL_GOVERNMENT_NUMBER_PREFIX = "000020"
SYNTHETIC_OFFICE_PREFIX = "90"
MAX_SERIAL = 999_999

# Town rows that are not a 町字 a head office has: floors of one building, ranges, notes.
_NOT_A_TOWN = re.compile(r"[()（）、～〜「」・]")
_CHOME_RANGE = re.compile(r"([0-9]+)(?:[〜～]([0-9]+))?丁目")
_DEFAULT_CHOME = (1, 2, 3, 4)
# The reading of the last character of a municipality's name, to find its place name.
_SUFFIX_READINGS = {"市": ("シ",), "区": ("ク",), "町": ("マチ", "チョウ"), "村": ("ムラ", "ソン")}

Word = tuple[str, str]  # (written, katakana reading)

_BUSINESSES: tuple[Word, ...] = (
    ("建設", "ケンセツ"), ("工務店", "コウムテン"), ("運輸", "ウンユ"), ("商事", "ショウジ"),
    ("物産", "ブッサン"), ("食品", "ショクヒン"), ("印刷", "インサツ"), ("電気", "デンキ"),
    ("電機", "デンキ"), ("情報", "ジョウホウ"), ("通信", "ツウシン"), ("不動産", "フドウサン"),
    ("製作所", "セイサクショ"), ("工業", "コウギョウ"), ("産業", "サンギョウ"),
    ("興業", "コウギョウ"), ("設計", "セッケイ"), ("水産", "スイサン"), ("農園", "ノウエン"),
    ("薬局", "ヤッキョク"), ("精機", "セイキ"), ("自動車", "ジドウシャ"), ("技研", "ギケン"),
    ("開発", "カイハツ"), ("鉱業", "コウギョウ"), ("ガス", "ガス"), ("システム", "システム"),
    ("サービス", "サービス"), ("ホーム", "ホーム"),
)  # fmt: skip
_BRANDS: tuple[Word, ...] = (
    ("日本", "ニホン"), ("東洋", "トウヨウ"), ("中央", "チュウオウ"), ("大和", "ヤマト"),
    ("富士", "フジ"), ("太陽", "タイヨウ"), ("協和", "キョウワ"), ("第一", "ダイイチ"),
    ("三光", "サンコウ"), ("昭和", "ショウワ"), ("朝日", "アサヒ"), ("光", "ヒカリ"),
    ("桜", "サクラ"), ("若葉", "ワカバ"), ("青葉", "アオバ"), ("みどり", "ミドリ"),
    ("ひまわり", "ヒマワリ"),
)  # fmt: skip
_KATAKANA_BRANDS: tuple[Word, ...] = tuple(
    (word, word)
    for word in (
        "サンライズ",
        "グローバル",
        "ネクスト",
        "アース",
        "フロンティア",
        "リンク",
        "ブリッジ",
    )
)
_KATAKANA_BUSINESSES: tuple[Word, ...] = tuple(
    (word, word)
    for word in ("デザイン", "コンサルティング", "ラボ", "ワークス", "ソリューションズ", "テック")
)
_FIELDS: tuple[Word, ...] = (
    ("観光", "カンコウ"), ("商工", "ショウコウ"), ("文化", "ブンカ"), ("福祉", "フクシ"),
    ("環境", "カンキョウ"), ("地域振興", "チイキシンコウ"), ("スポーツ", "スポーツ"),
    ("国際交流", "コクサイコウリュウ"), ("子育て支援", "コソダテシエン"),
    ("まちづくり", "マチヅクリ"),
)  # fmt: skip
_ASSOCIATIONS: tuple[Word, ...] = (
    ("協会", "キョウカイ"), ("振興会", "シンコウカイ"), ("協議会", "キョウギカイ"),
    ("推進機構", "スイシンキコウ"),
)  # fmt: skip
_NPO_BODIES: tuple[Word, ...] = (
    ("ネットワーク", "ネットワーク"), ("の会", "ノカイ"), ("センター", "センター"),
)  # fmt: skip


class SeedError(ValueError):
    """The generation cannot run as asked; nothing has been written."""


@dataclass(frozen=True, slots=True)
class TownChoice:
    lg_code: str
    name: str
    chome: tuple[int, ...]  # the 丁目 it has; empty when it has none


@dataclass(frozen=True, slots=True)
class _Municipality:
    body: LocalGovernment
    place: Word | None  # its name without 市・区・町・村, with that reading


@dataclass(frozen=True, slots=True)
class _Profile:
    """One kind of corporation: its 法人種別, 法人格 and the years it can have been founded."""

    kind: CorporationKind
    legal_form: str
    weight: int
    core: Callable[[_NameParts, random.Random], Word]
    founded_from: date = EARLIEST_FOUNDING
    founded_until: date = REFERENCE_DATE
    form_first_share: float = 1.0  # how often the 法人格 precedes the name (前株)


class _NameParts:
    """Draws the parts of names with their readings."""

    def __init__(self, place: Word | None) -> None:
        self.place = place

    @staticmethod
    def family(rng: random.Random) -> Word:
        return rng.choices(_FAMILY_NAMES, cum_weights=_FAMILY_WEIGHTS)[0]

    def stem(self, rng: random.Random) -> Word:
        """A family name, a brand word or the place's name, as companies are named."""
        draw = rng.random()
        if draw < 0.2 and self.place:
            return self.place
        return rng.choice(_BRANDS) if draw < 0.5 else self.family(rng)

    def place_or_japan(self, rng: random.Random) -> Word:
        return self.place if self.place and rng.random() < 0.8 else ("日本", "ニホン")


_FAMILY_NAMES: list[Word] = [
    (kanji, kana) for (kanji, kana, _romaji) in JapaneseNames.last_name_pairs
]
_FAMILY_WEIGHTS = list(itertools.accumulate(JapaneseNames.last_name_pairs.values()))


def _joined(*words: Word) -> Word:
    return "".join(word[0] for word in words), "".join(word[1] for word in words)


def _company(parts: _NameParts, rng: random.Random) -> Word:
    return _joined(parts.stem(rng), rng.choice(_BUSINESSES))


def _godo(parts: _NameParts, rng: random.Random) -> Word:
    if rng.random() < 0.6:
        return _joined(rng.choice(_KATAKANA_BRANDS), rng.choice(_KATAKANA_BUSINESSES))
    return _company(parts, rng)


def _partnership(parts: _NameParts, rng: random.Random) -> Word:
    trades: tuple[Word, ...] = (
        ("商店", "ショウテン"),
        ("酒造", "シュゾウ"),
        ("醸造", "ジョウゾウ"),
    )
    return _joined(parts.family(rng), rng.choice(trades))


def _association(parts: _NameParts, rng: random.Random) -> Word:
    return _joined(parts.place_or_japan(rng), rng.choice(_FIELDS), rng.choice(_ASSOCIATIONS))


def _foundation(parts: _NameParts, rng: random.Random) -> Word:
    if rng.random() < 0.5:
        return _joined(parts.family(rng), ("記念財団", "キネンザイダン"))
    return _joined(parts.place_or_japan(rng), rng.choice(_FIELDS), ("財団", "ザイダン"))


def _npo(parts: _NameParts, rng: random.Random) -> Word:
    return _joined(parts.place_or_japan(rng), rng.choice(_FIELDS), rng.choice(_NPO_BODIES))


def _medical(parts: _NameParts, rng: random.Random) -> Word:
    return _joined(parts.stem(rng), ("会", "カイ"))


def _welfare(parts: _NameParts, rng: random.Random) -> Word:
    return _joined(parts.place_or_japan(rng), ("福祉会", "フクシカイ"))


# Shares roughly as among corporations with a 法人番号: mostly 株式会社 and 有限会社.
_PROFILES = (
    _Profile(CorporationKind.KABUSHIKI_KAISHA, "株式会社", 52, _company, form_first_share=0.6),
    _Profile(
        CorporationKind.YUGEN_KAISHA,
        "有限会社",
        20,
        _company,
        founded_until=COMPANIES_ACT - timedelta(days=1),
        form_first_share=0.6,
    ),
    _Profile(CorporationKind.GODO_KAISHA, "合同会社", 10, _godo, founded_from=COMPANIES_ACT),
    _Profile(CorporationKind.GOMEI_KAISHA, "合名会社", 1, _partnership, form_first_share=0.5),
    _Profile(CorporationKind.GOSHI_KAISHA, "合資会社", 2, _partnership, form_first_share=0.5),
    _Profile(
        CorporationKind.OTHER_REGISTERED,
        "一般社団法人",
        5,
        _association,
        founded_from=GENERAL_INCORPORATED_ACT,
    ),
    _Profile(
        CorporationKind.OTHER_REGISTERED,
        "一般財団法人",
        1,
        _foundation,
        founded_from=GENERAL_INCORPORATED_ACT,
    ),
    _Profile(CorporationKind.OTHER_REGISTERED, "特定非営利活動法人", 4, _npo, founded_from=NPO_ACT),
    _Profile(CorporationKind.OTHER_REGISTERED, "医療法人社団", 3, _medical),
    _Profile(CorporationKind.OTHER_REGISTERED, "社会福祉法人", 2, _welfare),
)
_PROFILE_WEIGHTS = [profile.weight for profile in _PROFILES]

# 組織区分 of a 会社法人等番号: 01 株式会社, 02 特例有限会社, 03 持分会社, 05 other corporations.
_ORGANISATION_CODES = {
    CorporationKind.KABUSHIKI_KAISHA: "01",
    CorporationKind.YUGEN_KAISHA: "02",
    CorporationKind.GOMEI_KAISHA: "03",
    CorporationKind.GOSHI_KAISHA: "03",
    CorporationKind.GODO_KAISHA: "03",
    CorporationKind.OTHER_REGISTERED: "05",
}


def local_government_corporate_number(lg_code: str) -> str:
    """A local government's 法人番号: check digit, ``000020``, its 全国地方公共団体コード."""
    base = LOCAL_GOVERNMENT_NUMBER_PREFIX + lg_code
    return corporate_number_check_digit(base) + base


class _SyntheticNumbers:
    """Numbers under synthetic registry offices, each serial one more than the last in use."""

    def __init__(self, highest_serials: dict[str, int]) -> None:
        self.highest = highest_serials

    def next(self, prefecture_code: str, kind: CorporationKind) -> str:
        prefix = f"{SYNTHETIC_OFFICE_PREFIX}{prefecture_code}{_ORGANISATION_CODES[kind]}"
        serial = self.highest.get(prefix, 0) + 1
        if serial > MAX_SERIAL:
            raise SeedError(
                f"no synthetic numbers left under {prefix} / 合成法人番号の空きがありません"
            )
        self.highest[prefix] = serial
        base = f"{prefix}{serial:06d}"
        return corporate_number_check_digit(base) + base


def place_name(body: LocalGovernment) -> Word | None:
    """The municipality's name without 市・区・町・村 and its reading, when the reading shows it."""
    for reading in _SUFFIX_READINGS.get(body.name[-1], ()):
        if body.kana.endswith(reading) and len(body.name) > 1:
            return body.name[:-1], body.kana.removesuffix(reading)
    return None


def _address(rng: random.Random, towns: Sequence[TownChoice]) -> dict[str, str]:
    town = rng.choice(towns)
    if town.chome:
        name = f"{town.name}{kanji_number(rng.choice(town.chome))}丁目"
        banchi = f"{rng.randint(1, 30)}-{rng.randint(1, 25)}"
    else:
        name = town.name
        number = rng.randint(1, 2500)
        banchi = f"{number}-{rng.randint(1, 20)}" if rng.random() < 0.5 else str(number)
    return {"lg_code": town.lg_code, "town_name": name, "banchi": banchi}


def _companies(
    municipality: _Municipality,
    towns: Sequence[TownChoice],
    count: int,
    rng: random.Random,
    numbers: _SyntheticNumbers,
    updated_at: datetime,
) -> Iterator[dict[str, Any]]:
    parts = _NameParts(municipality.place)
    prefecture_code = municipality.body.code[:2]
    for _ in range(count):
        profile = rng.choices(_PROFILES, weights=_PROFILE_WEIGHTS)[0]
        name, kana = profile.core(parts, rng)
        form_first = rng.random() < profile.form_first_share
        founded = day_between(rng, profile.founded_from, profile.founded_until)
        closed = None
        if rng.random() < CLOSED_SHARE and founded < REFERENCE_DATE - timedelta(days=365):
            closed = day_between(rng, founded + timedelta(days=365), REFERENCE_DATE)
        yield {
            "number": numbers.next(prefecture_code, profile.kind),
            "name": f"{profile.legal_form}{name}" if form_first else f"{name}{profile.legal_form}",
            "kana": kana,
            "kind": profile.kind.value,
            **_address(rng, towns),
            "established_on": founded,
            "closed_on": closed,
            "updated_at": updated_at,
            "synthetic": True,
        }


def _public_body(
    municipality: _Municipality,
    towns: Sequence[TownChoice],
    rng: random.Random,
    updated_at: datetime,
) -> dict[str, Any]:
    body = municipality.body
    return {
        "number": local_government_corporate_number(body.code),
        "name": body.name,
        "kana": body.kana,
        "kind": CorporationKind.LOCAL_GOVERNMENT.value,
        **_address(rng, towns),  # where its office is, we do not know
        "established_on": None,
        "closed_on": None,
        "updated_at": updated_at,
        "synthetic": True,
    }


# Checking the request and reading the registry --------------------------------------------


def _municipality(session: Session, text: str) -> LocalGovernment:
    try:
        code = validate_local_government_code(text)
    except InvalidIdentifier as invalid:
        raise SeedError(str(invalid)) from None
    body = session.get(LocalGovernment, code)
    if body is None:
        raise SeedError(f"no local government has the code {code} / 該当する団体がありません")
    if body.kind == LocalGovernmentKind.WARD:
        raise SeedError(
            f"{code} {body.name} is a ward, not a corporation; give the city {body.parent_code}"
            " / 行政区ではなく指定都市を指定してください"
        )
    if body.kind not in MUNICIPALITY_KINDS:
        raise SeedError(f"{code} {body.name} is not a municipality / 市区町村ではありません")
    return body


def head_office_towns(session: Session, codes: Sequence[str]) -> dict[str, list[TownChoice]]:
    """For each municipality, its named towns (a designated city's through its wards).

    A town's 丁目 are those its postal notes name (``1〜4丁目``), or 一 to 四 when they name none.
    """
    wanted = set(codes)
    statement = (
        select(Town.lg_code, LocalGovernment.parent_code, Town.name, Town.has_chome, Town.note)
        .join(LocalGovernment, LocalGovernment.code == Town.lg_code)
        .where(Town.name != "")
    )
    chome_by_town: dict[tuple[str, str, str], set[int] | None] = {}
    for lg_code, parent_code, name, has_chome, note in session.execute(statement):
        municipality = parent_code or lg_code
        if municipality not in wanted or _NOT_A_TOWN.search(name) or (note and "階" in note):
            continue
        key = (municipality, lg_code, name)
        chome = chome_by_town.setdefault(key, None)
        if not has_chome:
            continue
        named = _CHOME_RANGE.search(note or "")
        if named:
            first = int(named[1])
            last = int(named[2] or first)
            numbers = set(range(first, min(last, 99) + 1))
        else:
            numbers = set(_DEFAULT_CHOME)
        chome_by_town[key] = (chome or set()) | numbers
    towns: dict[str, list[TownChoice]] = {code: [] for code in codes}
    for (municipality, lg_code, name), chome in sorted(chome_by_town.items()):
        towns[municipality].append(TownChoice(lg_code, name, tuple(sorted(chome or ()))))
    return towns


def _batches(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    while batch := list(itertools.islice(rows, BATCH_ROWS)):
        yield batch


def generate_corporations(
    session: Session,
    lg_codes: list[str],
    count: int,
    seed: int,
    progress: Callable[[int], None] = lambda _rows: None,
) -> int:
    """Write ``count`` synthetic companies split evenly over the municipalities ``lg_codes``,
    and each municipality itself as a 地方公共団体; return the number of rows written.

    Refuses, before writing anything, a code that is not a municipality, a municipality without
    towns or one that already has synthetic companies.  A municipality already registered as a
    corporation is left as it is.  Flushes but never commits.
    """
    if count < 0:
        raise SeedError("the number of corporations cannot be negative / 法人数は0以上です")
    bodies = list(
        {body.code: body for body in (_municipality(session, code) for code in lg_codes)}.values()
    )
    if not bodies:
        raise SeedError("no municipality given / 市区町村が指定されていません")
    codes = [body.code for body in bodies]
    repository = CorporationRepository(session)
    if seeded := repository.seeded_municipalities(codes):
        raise SeedError(
            f"already seeded with synthetic companies: {', '.join(seeded)}"
            " / 既に合成法人が登録されています"
        )
    towns = head_office_towns(session, codes)
    for code in codes:
        if not towns[code]:
            raise SeedError(f"{code} has no towns in the registry / 町字が登録されていません")

    updated_at = datetime.now(UTC)
    numbers = _SyntheticNumbers(repository.highest_synthetic_serials())
    registered = repository.existing_numbers(
        [local_government_corporate_number(code) for code in codes]
    )
    table = Base.metadata.tables[Corporation.__tablename__]
    written = 0
    for body, share in zip(bodies, split_evenly(count, len(bodies)), strict=True):
        rng = random.Random(f"kiban-corporations:{seed}:{body.code}")
        municipality = _Municipality(body, place_name(body))
        rows: list[dict[str, Any]] = []
        public_body = _public_body(municipality, towns[body.code], rng, updated_at)
        if public_body["number"] not in registered:
            rows.append(public_body)
        company_rows = _companies(municipality, towns[body.code], share, rng, numbers, updated_at)
        for batch in _batches(itertools.chain(rows, company_rows)):
            session.execute(insert(table), batch)
            written += len(batch)
            progress(len(batch))
    session.flush()
    return written
