"""Town-level address normaliser (住所正規化) built from Japan Post's postal data.

An address is read left to right: prefecture (may be omitted), municipality (郡 and the
designated city's ward may be omitted), town (町字, with or without 大字/字), 丁目, then
番地・号. Every name comes from :class:`~kiban.registry.postal.PostalRecord` rows; the
only hand-written tables are linguistic (see :mod:`kiban.registry.addresses.text`).

Matching runs on the *match form* of the input, in which spellings of the same place
coincide; the result quotes names as postal data writes them, and the town in the
address base registry's (ABR) 町字 style: ``霞が関一丁目``.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from kiban.core.identifiers import local_government_code
from kiban.registry.addresses.text import (
    KANJI_NUMERAL_CHARACTERS,
    MAX_ADDRESS_LENGTH,
    NUMBER_PATTERN,
    display_form,
    kanji_number,
    match_form,
    numeral_variants,
    parse_number,
)
from kiban.registry.localgov.derive import designated_city_jis_code, designated_city_of
from kiban.registry.postal import PostalRecord

LEVEL_NONE = 0
LEVEL_PREFECTURE = 1
LEVEL_CITY = 2
LEVEL_TOWN = 3


@dataclass(frozen=True, slots=True)
class NormalizedAddress:
    """An address split into prefecture, municipality, town and the rest, with a match level."""

    input: str
    pref: str | None
    city: str | None  # as postal data writes it: '高座郡寒川町', '大阪市北区', '千代田区'
    lg_code: str | None  # 6-digit code of the most specific body (the ward for designated cities)
    town: str | None  # 町字, ABR style: '霞が関一丁目', '南花田口町二丁'
    rest: str | None  # 番地・号 normalised, e.g. '3-10'; building names etc. kept after it
    postal_code: str | None
    level: int  # 0 none, 1 prefecture, 2 city, 3 town (abr-geocoder levels)
    score: float  # 0–1 confidence


@dataclass(slots=True, eq=False)
class _Town:
    name: str
    municipality: str
    lg_code: str
    has_chome: bool
    koaza_banchi: bool  # 番地 are numbered per 小字, which the registry lists as 町字 of their own
    areas: list[tuple[str, str | None]]  # (postal code, postal note) of each postal row

    def postal_code(self, chome: int | None, direction: str | None) -> str:
        """The postal code of the row whose note covers the 丁目 or street direction."""
        if len(self.areas) == 1:
            return self.areas[0][0]
        fallback = None
        for postal_code, note in self.areas:
            if note is None:
                fallback = fallback or postal_code
                continue
            if direction is not None and direction in _note_directions(note):
                return postal_code
            if chome is not None and chome in _note_chome(note):
                return postal_code
        return fallback or self.areas[0][0]


@dataclass(slots=True)
class _Municipality:
    """A municipality, a designated city's ward, or a designated city as the union of its wards."""

    prefecture: str
    name: str
    lg_code: str
    postal_code: str | None = None  # of the row for the rest of the municipality
    numbers_in_cho: bool = False  # towns are divided into 丁 rather than 丁目 (Sakai)
    towns_by_name: dict[str, _Town] = field(default_factory=dict)
    towns: dict[str, list[_Town]] = field(default_factory=dict)  # by every key a town has
    town_key_lengths: tuple[int, ...] = ()
    directions: dict[str, list[_Town]] = field(default_factory=dict)

    def add_town(self, key: str, town: _Town) -> None:
        candidates = self.towns.get(key)
        if candidates is None:
            self.towns[key] = [town]
        elif town not in candidates:
            candidates.append(town)

    def seal(self) -> None:
        self.town_key_lengths = tuple(sorted({len(key) for key in self.towns}, reverse=True))


@dataclass(slots=True)
class _TownHit:
    towns: list[_Town]
    end: int
    prefix: str  # 大字 or 字 as the input wrote it before the town
    direction: str | None  # the Kyoto street direction the input gave, in match form
    by_direction_only: bool


@dataclass(slots=True)
class _Parse:
    prefecture: str | None
    prefecture_explicit: int  # 2 full name, 1 name without 都道府県, 0 inferred
    municipality: _Municipality | None
    municipality_end: int
    town: _TownHit | None
    rank: tuple[int, int, int, int] = (0, 0, 0, 0)  # the better reading of the input ranks higher

    def __post_init__(self) -> None:
        level = (
            LEVEL_TOWN
            if self.town is not None
            else LEVEL_CITY
            if self.municipality is not None
            else LEVEL_PREFECTURE
            if self.prefecture is not None
            else LEVEL_NONE
        )
        town_end = self.town.end if self.town is not None else 0
        self.rank = (level, self.prefecture_explicit, self.municipality_end, town_end)


# Floor-by-floor rows of high-rise buildings: their town is the building, not a 町字.
_FLOOR_NOTE = re.compile(r"^(?:[0-9０-９]+階|地階・階層不明)$")
_CHOME_NOTE_RANGE = re.compile(r"([0-9]+)(?:〜([0-9]+))?")
# Notes such as 1丁 or 2丁 show a municipality that numbers its towns in 丁, not 丁目.
_CHO_NOTE = re.compile(r"[0-9０-９]丁(?!目)")
_COUNTY = re.compile(r"^.+?郡(.+)$")
_DIRECTION_WORDS = "(?:上る|下る|西入る?|東入る?)"
_DIRECTION_NOTE = re.compile(rf"通.*{_DIRECTION_WORDS}")
# A Kyoto street direction: street names, then which way to go from the crossing.
_DIRECTION = re.compile(rf"[^0-9\-]*?{_DIRECTION_WORDS}(?:\([^)]*\))?")
_EXPLICIT_CHOME = re.compile(rf"({NUMBER_PATTERN})(丁目|丁(?!目))")
# Without the word 丁目, a number is the 丁目 when 番 and 号 follow it, or when it is a
# single digit: few towns have ten 丁目, but 番地 run into the hundreds.
_BARE_CHOME = re.compile(r"([0-9]{1,2})-(?=[0-9]+-[0-9])|([1-9])(?:-|$)")
# The 小字 between a town and its 番地, up to the first digit or kanji 番地 number.
_KOAZA = re.compile(rf"字?[^0-9\-()]+?(?=[0-9\-(]|{NUMBER_PATTERN}(?:番|号|の|-)|$)")
# The town name the input gives, up to its 丁目 or 番地, for the approximate search.
_TOWN_WORDS = re.compile(rf"[^0-9\-()]+?(?=[0-9\-(]|{NUMBER_PATTERN}(?:丁|番|号|の|-)|$)")
_DIGIT = re.compile("[0-9０-９]")
_MAX_CHOME = 99
_MUNICIPALITY_HEAD = 2
# Where the input leaves out a town's leading area name (三栄町 for 四谷三栄町), that name must
# be at least this long and start several towns, so that a stray character does not count.
_MIN_OMITTED_AREA = 2
_BANCHI_PART = re.compile(rf"({NUMBER_PATTERN})(番地の?|番の?|号|の|-)?")
_PREFECTURE_SUFFIXES = "都道府県"
_TOWN_PREFIXES = ("大字", "字")
# Names that get more keys than their folded self: a 大字/字 prefix, or a numeral people may
# write either way (北24条 for 北二十四条, 十四号 for １４号).
_TOWN_KEY_VARIES = re.compile(rf"^大?字|[0-9]|[{KANJI_NUMERAL_CHARACTERS}]+(?:[条丁号線番区地]|$)")
_NAME_SEPARATOR = "\ue000"  # private use: survives folding and never occurs in names
_MAX_BANCHI_PARTS = 4

_SCORE_OF_LEVEL = {LEVEL_NONE: 0.0, LEVEL_PREFECTURE: 0.4, LEVEL_CITY: 0.7, LEVEL_TOWN: 1.0}
_INFERRED_PREFECTURE_FACTOR = 0.95
_AMBIGUOUS_FACTOR = 0.8
_DIRECTION_ONLY_FACTOR = 0.9


def _fold(name: str) -> str:
    return match_form(display_form(name))


def _fold_all(names: list[str]) -> list[str]:
    """Fold many names in one pass: one call per name would dominate the load time."""
    folded = _fold(_NAME_SEPARATOR.join(names)).split(_NAME_SEPARATOR)
    if len(folded) != len(names):  # a name folded into a separator: fall back, name by name
        return [_fold(name) for name in names]
    return folded


def _direction_key(direction: str) -> str:
    return direction.removesuffix("る") if direction.endswith("入る") else direction


def _note_chome(note: str) -> set[int]:
    """The 丁目 a postal note such as 1〜3丁目 or 1、2丁目 limits its row to."""
    note = display_form(note)
    chome: set[int] = set()
    if "丁" in note and "番" not in note:
        for match in _CHOME_NOTE_RANGE.finditer(note):
            first = int(match.group(1))
            last = int(match.group(2)) if match.group(2) else first
            chome.update(range(first, last + 1))
    return chome


def _note_directions(note: str) -> list[str]:
    """The Kyoto street directions a postal note lists, in match form."""
    if "通" not in note or not _DIRECTION_NOTE.search(note):
        return []
    return [_direction_key(part) for part in match_form(display_form(note)).split("、")]


def _town_keys(folded: str) -> set[str]:
    keys = {folded}
    for prefix in _TOWN_PREFIXES:
        if folded.startswith(prefix) and len(folded) > len(prefix):
            keys.add(folded[len(prefix) :])
            break
    for key in list(keys):
        variants = numeral_variants(key)
        if variants is not None:
            keys.update(variants)
    return keys


class AddressNormalizer:
    """Splits free-text Japanese addresses into prefecture, municipality, town and the rest."""

    def __init__(
        self,
        prefectures: dict[str, tuple[str, int]],
        municipalities: dict[str, list[_Municipality]],
        cho_codes: frozenset[str],
    ) -> None:
        self._prefectures = prefectures
        self._cho_codes = cho_codes
        self._prefecture_key_lengths = tuple(
            sorted({len(key) for key in prefectures}, reverse=True)
        )
        # Keyed by their first two characters (every municipality name has at least two),
        # longest name first: one dictionary look-up finds every name the input may start with.
        by_head: dict[str, list[tuple[str, list[_Municipality]]]] = {}
        for key, found in sorted(municipalities.items(), key=lambda item: -len(item[0])):
            by_head.setdefault(key[:_MUNICIPALITY_HEAD], []).append((key, found))
        self._municipalities_by_head = by_head

    @classmethod
    def from_records(cls, records: Iterable[PostalRecord]) -> AddressNormalizer:
        """Index every prefecture, municipality and town of the postal data."""
        # The build allocates a few hundred thousand long-lived objects; letting the cyclic
        # garbage collector rescan them all the while would double the load time.
        collecting = gc.isenabled()
        gc.disable()
        try:
            return cls._from_municipalities(_collect(records))
        finally:
            if collecting:
                gc.enable()

    @classmethod
    def _from_municipalities(cls, collected: list[_Municipality]) -> AddressNormalizer:
        town_names = list(dict.fromkeys(name for m in collected for name in m.towns_by_name))
        folded_town = dict(zip(town_names, _fold_all(town_names), strict=True))
        city_names = [municipality.name for municipality in collected]
        folded_city = dict(zip(city_names, _fold_all(city_names), strict=True))

        municipalities: dict[str, list[_Municipality]] = {}
        prefectures: dict[str, tuple[str, int]] = {}
        designated: dict[tuple[str, str], list[_Municipality]] = {}
        for municipality in collected:
            prefecture = municipality.prefecture
            if _fold(prefecture) not in prefectures:
                prefectures[_fold(prefecture)] = (prefecture, 2)
                if prefecture[-1] in _PREFECTURE_SUFFIXES and prefecture != "北海道":
                    prefectures.setdefault(_fold(prefecture[:-1]), (prefecture, 1))
            for name, town in municipality.towns_by_name.items():
                folded = folded_town[name]
                if _TOWN_KEY_VARIES.search(folded):
                    town.name = _registry_name(town.name)
                    for key in _town_keys(folded):
                        municipality.add_town(key, town)
                else:
                    municipality.add_town(folded, town)
                for _, note in town.areas:
                    if note is not None and "通" in note:
                        for direction in _note_directions(note):
                            municipality.directions.setdefault(direction, []).append(town)
            municipality.seal()
            folded_name = folded_city[municipality.name]
            municipalities.setdefault(folded_name, []).append(municipality)
            county = _COUNTY.match(folded_name)
            if county is not None:
                municipalities.setdefault(county.group(1), []).append(municipality)
            city_name = designated_city_of(municipality.name)
            if city_name is not None:
                designated.setdefault((prefecture, city_name), []).append(municipality)

        for (prefecture, city_name), wards in designated.items():
            city = _Municipality(
                prefecture,
                city_name,
                local_government_code(designated_city_jis_code(ward.lg_code[:5] for ward in wards)),
                numbers_in_cho=any(ward.numbers_in_cho for ward in wards),
            )
            for ward in wards:
                ward.numbers_in_cho = city.numbers_in_cho
                for key, towns in ward.towns.items():
                    city.towns.setdefault(key, []).extend(towns)
                for direction, towns in ward.directions.items():
                    city.directions.setdefault(direction, []).extend(towns)
            city.seal()
            municipalities.setdefault(_fold(city_name), []).append(city)
        cho_codes = frozenset(m.lg_code for m in collected if m.numbers_in_cho)
        return cls(prefectures, municipalities, cho_codes)

    def normalize(self, text: str) -> NormalizedAddress:
        """Split ``text``; never raises, whatever it is given (level 0 for non-addresses)."""
        if not isinstance(text, str) or len(text) > MAX_ADDRESS_LENGTH:
            return _unmatched(text if isinstance(text, str) else "")
        display = display_form(text)
        if len(display) > MAX_ADDRESS_LENGTH:  # NFKC spells out some characters at length
            return _unmatched(text)
        folded = match_form(display)
        best: _Parse | None = None
        ties = 0
        for parse in self._parses(folded):
            if best is None or parse.rank > best.rank:
                best, ties = parse, 0
            elif parse.rank == best.rank and parse.municipality is not best.municipality:
                ties += 1
            if best.town is not None and best.prefecture_explicit == 2:
                break
        if best is None:
            return _unmatched(text)
        return self._result(text, display, folded, best, ambiguous=ties > 0)

    def _parses(self, folded: str) -> Iterator[_Parse]:
        for prefecture, end, explicit in self._prefecture_options(folded):
            found = False
            for municipality, city_end in self._municipality_options(folded, end, prefecture):
                found = True
                town = self._find_town(municipality, folded, city_end)
                yield _Parse(municipality.prefecture, explicit, municipality, city_end, town)
            if not found:
                yield _Parse(prefecture, explicit, None, end, None)

    def _prefecture_options(self, folded: str) -> Iterator[tuple[str | None, int, int]]:
        for length in self._prefecture_key_lengths:
            found = self._prefectures.get(folded[:length])
            if found is not None:
                yield found[0], length, found[1]
        yield None, 0, 0

    def _municipality_options(
        self, folded: str, start: int, prefecture: str | None
    ) -> Iterator[tuple[_Municipality, int]]:
        head = folded[start : start + _MUNICIPALITY_HEAD]
        for key, municipalities in self._municipalities_by_head.get(head, ()):
            if folded.startswith(key, start):
                for municipality in municipalities:
                    if prefecture is None or municipality.prefecture == prefecture:
                        yield municipality, start + len(key)

    def _find_town(self, municipality: _Municipality, folded: str, start: int) -> _TownHit | None:
        prefix = ""
        for word in _TOWN_PREFIXES:
            if folded.startswith(word, start):
                prefix = word
                break
        if municipality.directions:
            direction = _DIRECTION.match(folded, start)
            if direction is not None:
                phrase = _direction_key(direction.group())
                after = self._longest_town(municipality, folded, direction.end())
                if after is not None:
                    return _TownHit(after[0], after[1], "", phrase, by_direction_only=False)
                towns = municipality.directions.get(phrase)
                if towns is not None:
                    return _TownHit(towns, direction.end(), "", phrase, by_direction_only=True)
        found = None
        if prefix:
            found = self._longest_town(municipality, folded, start + len(prefix))
        if found is None:
            prefix = ""
            found = self._longest_town(municipality, folded, start)
        if found is None:
            found = self._approximate_town(municipality, folded, start)
        if found is None:
            return None
        towns, end = found
        direction_after: str | None = None
        if municipality.directions:
            direction = _DIRECTION.match(folded, end)
            if direction is not None:
                end = direction.end()
                direction_after = _direction_key(direction.group().partition("(")[0])
        return _TownHit(towns, end, prefix, direction_after, by_direction_only=False)

    @staticmethod
    def _longest_town(
        municipality: _Municipality, folded: str, start: int
    ) -> tuple[list[_Town], int] | None:
        available = len(folded) - start
        for length in municipality.town_key_lengths:
            if length <= available:
                towns = municipality.towns.get(folded[start : start + length])
                if towns is not None:
                    return towns, start + length
        return None

    @staticmethod
    def _approximate_town(
        municipality: _Municipality, folded: str, start: int
    ) -> tuple[list[_Town], int] | None:
        """The one town the input names leaving out a 町 (西小松川 for 西小松川町) or a
        leading area name (三栄町 for 四谷三栄町), or None if there is not exactly one.
        """
        words = _TOWN_WORDS.match(folded, start)
        if words is None:
            return None
        given = words.group()
        given_without_cho = given[:1] + given[1:].replace("町", "")
        found: list[_Town] = []
        for key, towns in municipality.towns.items():
            if key[:1] + key[1:].replace("町", "") == given_without_cho:
                found.extend(town for town in towns if town not in found)
            elif len(key) >= len(given) + _MIN_OMITTED_AREA and key.endswith(given):
                area = key[: -len(given)]
                if sum(1 for other in municipality.towns if other.startswith(area)) > 1:
                    found.extend(town for town in towns if town not in found)
        if len(found) != 1:
            return None
        return found, words.end()

    def _result(
        self, text: str, display: str, folded: str, parse: _Parse, *, ambiguous: bool
    ) -> NormalizedAddress:
        municipality = parse.municipality
        score_factor = _AMBIGUOUS_FACTOR if ambiguous else 1.0
        if parse.prefecture_explicit == 0:
            score_factor *= _INFERRED_PREFECTURE_FACTOR
        if municipality is None:
            level = LEVEL_PREFECTURE if parse.prefecture is not None else LEVEL_NONE
            return NormalizedAddress(
                input=text,
                pref=parse.prefecture,
                city=None,
                lg_code=None,
                town=None,
                rest=display[parse.municipality_end :] or None,
                postal_code=None,
                level=level,
                score=round(_SCORE_OF_LEVEL[level] * score_factor, 3),
            )
        hit = parse.town
        if hit is None:
            return NormalizedAddress(
                input=text,
                pref=municipality.prefecture,
                city=municipality.name,
                lg_code=municipality.lg_code,
                town=None,
                rest=display[parse.municipality_end :] or None,
                postal_code=municipality.postal_code,
                level=LEVEL_CITY,
                score=round(_SCORE_OF_LEVEL[LEVEL_CITY] * score_factor, 3),
            )
        town = hit.towns[0]
        if len(hit.towns) > 1:
            score_factor *= _AMBIGUOUS_FACTOR
        if hit.by_direction_only:
            score_factor *= _DIRECTION_ONLY_FACTOR
        chome, chome_word, position = _read_chome(town, folded, hit.end)
        name = town.name if town.name.startswith(hit.prefix) else hit.prefix + town.name
        if chome is not None:
            default_word = "丁" if town.lg_code in self._cho_codes else "丁目"
            name += kanji_number(chome) + (chome_word or default_word)
        elif town.koaza_banchi:
            koaza = _KOAZA.match(folded, position)
            if koaza is not None:
                name += display[position : koaza.end()]
                position = koaza.end()
        city_name, lg_code = town.municipality, town.lg_code
        if len(hit.towns) > 1 and any(t.lg_code != lg_code for t in hit.towns):
            city_name, lg_code = municipality.name, municipality.lg_code
        return NormalizedAddress(
            input=text,
            pref=municipality.prefecture,
            city=city_name,
            lg_code=lg_code,
            town=name,
            rest=_read_rest(display, folded, position),
            postal_code=town.postal_code(chome, hit.direction),
            level=LEVEL_TOWN,
            score=round(_SCORE_OF_LEVEL[LEVEL_TOWN] * score_factor, 3),
        )


def _collect(records: Iterable[PostalRecord]) -> list[_Municipality]:
    """Group the postal rows by municipality and town, dropping per-floor building rows."""
    municipalities: dict[str, _Municipality] = {}
    for record in records:
        municipality = municipalities.get(record.jis_code)
        if municipality is None:
            municipality = _Municipality(
                record.prefecture, record.city, local_government_code(record.jis_code)
            )
            municipalities[record.jis_code] = municipality
        note = record.note
        if not record.town:
            municipality.postal_code = municipality.postal_code or record.postal_code
            continue
        if note is not None:
            if _FLOOR_NOTE.match(note):
                continue
            if _CHO_NOTE.search(note):
                municipality.numbers_in_cho = True
        town_name = record.town
        towns = municipality.towns_by_name
        for name in town_name.split("、") if "、" in town_name else (town_name,):
            town = towns.get(name)
            if town is None:
                towns[name] = _Town(
                    name,
                    municipality.name,
                    municipality.lg_code,
                    record.has_chome,
                    record.koaza_banchi,
                    [(record.postal_code, note)],
                )
            else:
                town.has_chome = town.has_chome or record.has_chome
                town.koaza_banchi = town.koaza_banchi or record.koaza_banchi
                town.areas.append((record.postal_code, note))
    return list(municipalities.values())


def _registry_name(postal_name: str) -> str:
    """The town name with numerals in kanji, as the address base registry writes them (十四号)."""
    if not _DIGIT.search(postal_name):
        return postal_name
    variants = numeral_variants(display_form(postal_name))
    return postal_name if variants is None else variants[1]


def _read_chome(town: _Town, folded: str, start: int) -> tuple[int | None, str | None, int]:
    """The 丁目 after a town, the word the input used for it, and where the 番地 start."""
    explicit = _EXPLICIT_CHOME.match(folded, start)
    if explicit is not None:
        value = parse_number(explicit.group(1))
        if value and value <= _MAX_CHOME:
            return value, explicit.group(2), explicit.end()
    if town.has_chome:
        bare = _BARE_CHOME.match(folded, start)
        if bare is not None:
            value = int(bare.group(1) or bare.group(2))
            if value:
                return value, None, bare.end()
    return None, None, start


def _read_rest(display: str, folded: str, start: int) -> str | None:
    """番地・号 as dash-separated numbers, followed by whatever else the input says."""
    numbers: list[str] = []
    position = start
    while len(numbers) < _MAX_BANCHI_PARTS:
        part = _BANCHI_PART.match(folded, position)
        if part is None:
            break
        value = parse_number(part.group(1))
        separator = part.group(2)
        is_kanji = not part.group(1).isascii()
        if value is None or (is_kanji and separator is None and part.end() < len(folded)):
            break
        numbers.append(str(value))
        position = part.end()
        if separator is None or separator == "号":
            break
    remainder = display[position:]
    if not numbers:
        return remainder or None
    banchi = "-".join(numbers)
    return f"{banchi} {remainder}" if remainder else banchi


def _unmatched(text: str) -> NormalizedAddress:
    return NormalizedAddress(
        input=text,
        pref=None,
        city=None,
        lg_code=None,
        town=None,
        rest=None,
        postal_code=None,
        level=LEVEL_NONE,
        score=0.0,
    )
