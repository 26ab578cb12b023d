"""Character folding and numerals for matching Japanese addresses.

Two forms of a text are used. The *display* form is what people meant: compatibility
characters unified (NFKC), control characters and meaningless spaces removed, every
dash look-alike written ``-``. The *match* form is derived from the display form one
character for one character, so that a position found in one is valid in the other; it
folds the spellings that name the same place (旧字体, ヶ/ケ/が, 之/ノ/の).
"""

from __future__ import annotations

import functools
import re
import unicodedata

# Longer inputs are not addresses; refusing them keeps every call cheap.
MAX_ADDRESS_LENGTH = 1000

_INVISIBLE = [
    *range(0x00, 0x20),
    *range(0x7F, 0xA0),
    *range(0x200B, 0x2010),
    *range(0x2028, 0x202F),
    *range(0x2060, 0x2070),
    0xFEFF,
]
_DASHES = "‐‑‒–—―−－﹣─━"
_DISPLAY_TRANSLATION: dict[int, str | None] = {
    **dict.fromkeys(_INVISIBLE),
    **{ord(dash): "-" for dash in _DASHES},
}
_DISPLAY_TRANSLATED = re.compile(f"[{''.join(map(chr, _DISPLAY_TRANSLATION))}]")
# A prolonged sound mark is a dash only between digits; inside katakana words it is a vowel.
_DASH_BETWEEN_DIGITS = re.compile(r"(?<=[0-9])ー(?=[0-9])")
# Spaces only matter between two words written in Latin letters or digits.
_SPACES = re.compile(r"(?<![A-Za-z0-9])\s+|\s+(?![A-Za-z0-9])")

_OLD_TO_NEW = {
    "﨑": "崎",
    "嵜": "崎",
    "髙": "高",
    "濵": "浜",
    "濱": "浜",
    "邊": "辺",
    "邉": "辺",
    "澤": "沢",
    "齋": "斎",
    "齊": "斎",
    "斉": "斎",
    "櫻": "桜",
    "舊": "旧",
    "國": "国",
    "會": "会",
    "廣": "広",
    "瀨": "瀬",
    "龍": "竜",
    "嶋": "島",
    "嶌": "島",
    "槇": "槙",
    "舘": "館",
    "冨": "富",
    "峯": "峰",
    "曾": "曽",
    "檜": "桧",
    "眞": "真",
    "萬": "万",
    "條": "条",
    "與": "与",
    "實": "実",
    "藏": "蔵",
    "壽": "寿",
    "靜": "静",
    "驛": "駅",
    "戶": "戸",
    "彌": "弥",
    "惠": "恵",
    "榮": "栄",
    "德": "徳",
    "縣": "県",
    "黑": "黒",
    "增": "増",
    "鄕": "郷",
    "澁": "渋",
    "圓": "円",
    "臺": "台",
    "莊": "荘",
    "豐": "豊",
    "學": "学",
    "寶": "宝",
    "燈": "灯",
    "靑": "青",
    "兒": "児",
    "發": "発",
    "應": "応",
    "淺": "浅",
    "栁": "柳",
    "籠": "篭",
    # Look-alikes and variants people type for the usual character.
    "巿": "市",
    "莵": "菟",
}
# ヶ and ヵ are always the counter ケ; 之 and ノ are the possessive の in place names.
_MATCH_FOLDING = {**_OLD_TO_NEW, "ヶ": "ケ", "ヵ": "ケ", "之": "の", "ノ": "の"}
# A character class finds the few characters to fold much faster than str.translate looks
# up every character, which matters when the whole postal data is folded at start-up.
_MATCH_FOLDED = re.compile(f"[{''.join(_MATCH_FOLDING)}]")
_KANJI_CLASS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff々"
# が, ガ and カ stand for the counter ケ between a word and a kanji (霞が関, 鶴ガ丘);
# after katakana they belong to a loanword.
_COUNTER_KE = re.compile(rf"(?<![ァ-ヺー])[がガカ](?=[{_KANJI_CLASS}])")
# Kyoto directions are written 上ル or 上る, 西入ル or 西入る.
_DIRECTION_RU = re.compile(r"(?<=[上下入])ル")

KANJI_NUMERAL_CHARACTERS = "〇一二三四五六七八九十百千壱弐参拾"
NUMBER_PATTERN = f"(?:[0-9]+|[{KANJI_NUMERAL_CHARACTERS}]+)"
# No 番地 or 丁目 has more digits; longer runs are not numbers people wrote in an address.
_MAX_NUMBER_LENGTH = 9
_KANJI_DIGITS = {
    "〇": 0,
    "一": 1,
    "壱": 1,
    "二": 2,
    "弐": 2,
    "三": 3,
    "参": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_KANJI_UNITS = {"十": 10, "拾": 10, "百": 100, "千": 1000}
_KANJI_OF_DIGIT = "〇一二三四五六七八九"
_NUMERAL_SPLIT = re.compile(f"({NUMBER_PATTERN})")


def display_form(text: str) -> str:
    """``text`` as people meant it: NFKC, no control characters or spaces, ASCII dashes."""
    text = unicodedata.normalize("NFKC", text)
    if _DISPLAY_TRANSLATED.search(text):
        text = text.translate(_DISPLAY_TRANSLATION)
    text = _SPACES.sub("", text)
    return _DASH_BETWEEN_DIGITS.sub("-", text) if "ー" in text else text


def _fold_character(match: re.Match[str]) -> str:
    return _MATCH_FOLDING[match.group()]


def match_form(display: str) -> str:
    """The folded form of a display-form text, of the same length, position for position."""
    folded = _MATCH_FOLDED.sub(_fold_character, display)
    folded = _COUNTER_KE.sub("ケ", folded)
    return _DIRECTION_RU.sub("る", folded) if "ル" in folded else folded


def parse_number(token: str) -> int | None:
    """The value of a run of ASCII digits or of kanji numerals (二十三, 千二百, 二〇三, 参拾).

    None if ``token`` is not a number or too long to be part of an address.
    """
    if len(token) > _MAX_NUMBER_LENGTH:
        return None
    if token.isascii():
        return int(token) if token.isdigit() else None
    if not any(character in _KANJI_UNITS for character in token):
        digits = [_KANJI_DIGITS.get(character) for character in token]
        if not digits or None in digits:
            return None
        return int("".join(str(digit) for digit in digits))
    total = 0
    pending: int | None = None
    for character in token:
        if character in _KANJI_DIGITS:
            if pending is not None:
                return None
            pending = _KANJI_DIGITS[character]
        elif character in _KANJI_UNITS:
            total += (1 if pending is None else pending) * _KANJI_UNITS[character]
            pending = None
        else:
            return None
    return total + (pending or 0)


@functools.cache
def kanji_number(value: int) -> str:
    """``value`` in kanji numerals as 町字 names write it: 一, 十二, 二十, 百五."""
    if value == 0:
        return "〇"
    parts: list[str] = []
    for unit, unit_character in ((1000, "千"), (100, "百"), (10, "十")):
        count, value = divmod(value, unit)
        if count:
            parts.append(("" if count == 1 else kanji_number(count)) + unit_character)
    if value:
        parts.append(_KANJI_OF_DIGIT[value])
    return "".join(parts)


@functools.cache
def _numeral_as_digits(token: str) -> str:
    value = parse_number(token)
    return token if value is None else str(value)


@functools.cache
def _numeral_as_kanji(token: str) -> str:
    value = parse_number(token)
    return token if value is None else kanji_number(value)


def numeral_variants(key: str) -> tuple[str, str] | None:
    """``key`` with every numeral in ASCII digits and in kanji, or None if it has none.

    Town names mix the two (postal data writes 北二十四条西 and 1条), and so do people.
    """
    parts = _NUMERAL_SPLIT.split(key)
    if len(parts) == 1:
        return None
    # re.split with one capturing group puts the numerals at the odd positions.
    as_digits = "".join(_numeral_as_digits(p) if i % 2 else p for i, p in enumerate(parts))
    as_kanji = "".join(_numeral_as_kanji(p) if i % 2 else p for i, p in enumerate(parts))
    return as_digits, as_kanji
