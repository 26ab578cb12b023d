"""Check digits and formats of the public identifiers kiban handles (see DESIGN.md).

Every ``validate_*`` function strips surrounding whitespace, accepts only ASCII characters
and returns the canonical value, or raises :class:`InvalidIdentifier`.  Every ``random_*``
function draws a valid value from the given :class:`random.Random` only, so a seeded
generator always yields the same values.

No error message echoes the value, not even in part, and a 個人番号 (personal number)
error does not reveal its check digit either: messages end up in logs, where a personal
number must never be.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping, Sequence
from enum import StrEnum


class IdentifierKind(StrEnum):
    """The kinds of identifier; each value is also the kind's name on the command line."""

    LOCAL_GOVERNMENT_CODE = "lgcode"
    CORPORATE_NUMBER = "corporate"
    PERSONAL_NUMBER = "personal"
    REAL_ESTATE_ID = "realestate"
    RESIDENT_RECORD_CODE = "residentcode"
    ADDRESSEE_NUMBER = "addressee"

    @property
    def label(self) -> str:
        """The kind's Japanese name with an English gloss, for messages."""
        return _LABELS[self]


_LABELS = {
    IdentifierKind.LOCAL_GOVERNMENT_CODE: "全国地方公共団体コード (local government code)",
    IdentifierKind.CORPORATE_NUMBER: "法人番号 (corporate number)",
    IdentifierKind.PERSONAL_NUMBER: "個人番号 (personal number)",
    IdentifierKind.REAL_ESTATE_ID: "不動産ID (real estate ID)",
    IdentifierKind.RESIDENT_RECORD_CODE: "住民票コード (resident record code)",
    IdentifierKind.ADDRESSEE_NUMBER: "宛名番号 (addressee number)",
}


class InvalidIdentifier(ValueError):
    """A value is not a valid identifier of its kind; ``reason`` never contains the value."""

    def __init__(self, kind: IdentifierKind, reason: str) -> None:
        super().__init__(f"{kind.label}: {reason}")
        self.kind = kind
        self.reason = reason


_DIGIT_FOLDING = str.maketrans("０１２３４５６７８９", "0123456789")
_FULL_WIDTH_FOLDING = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
# Hyphens, dashes and minus signs people type between groups of digits.
_DASHES = "-‐‑‒–—―−－ｰー"
_SEPARATORS = re.compile(f"[\\s{re.escape(_DASHES)}]")
_DASH = re.compile(f"[{re.escape(_DASHES)}]")
_WHITESPACE = re.compile(r"\s")


def normalize_digits(text: str) -> str:
    """Fold full-width digits to ASCII and drop the spaces and hyphens people type.

    ``"１２３４ ５６７８ ９０１８"`` becomes ``"123456789018"``.  Any other character is kept,
    so that validation still rejects it.
    """
    return _SEPARATORS.sub("", text.translate(_DIGIT_FOLDING))


def normalize_real_estate_id(text: str) -> str:
    """Fold full-width characters to ASCII, unify dashes as ``-``, drop spaces, uppercase.

    ``"１２３４５６７８９０１２３ー ｇ０１８"`` becomes ``"1234567890123-G018"``.
    """
    folded = _DASH.sub("-", text.translate(_FULL_WIDTH_FOLDING))
    return _WHITESPACE.sub("", folded).upper()


def normalize(kind: IdentifierKind, text: str) -> str:
    """``text`` as people type it, folded into the form the validator of ``kind`` expects."""
    if kind is IdentifierKind.REAL_ESTATE_ID:
        return normalize_real_estate_id(text)
    return normalize_digits(text)


def _digits(kind: IdentifierKind, value: str, length: int, what: str = "") -> str:
    subject = f"{what} " if what else ""
    if not value:
        raise InvalidIdentifier(kind, f"{subject}is empty; it must be {length} digits")
    if not (value.isascii() and value.isdigit()):
        raise InvalidIdentifier(kind, f"{subject}must contain only the digits 0-9")
    if len(value) != length:
        raise InvalidIdentifier(kind, f"{subject}must be {length} digits, got {len(value)}")
    return value


def _weighted_sum(digits: str, weights_from_right: Sequence[int]) -> int:
    return sum(
        int(digit) * weight
        for digit, weight in zip(reversed(digits), weights_from_right, strict=True)
    )


def _random_digits(rng: random.Random, length: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(length))


def _check_digit_mismatch(kind: IdentifierKind, actual: str, expected: str) -> InvalidIdentifier:
    if kind is IdentifierKind.PERSONAL_NUMBER:
        return InvalidIdentifier(kind, "check digit does not match")
    return InvalidIdentifier(kind, f"check digit is {actual}, expected {expected}")


# 全国地方公共団体コード ------------------------------------------------------------------


def local_government_check_digit(five_digits: str) -> str:
    """Check digit of a 全国地方公共団体コード: CD = (11 − (6a+5b+4c+3d+2e) mod 11) mod 10."""
    base = _digits(IdentifierKind.LOCAL_GOVERNMENT_CODE, five_digits, 5, "JIS X 0402 code")
    return str((11 - _weighted_sum(base, (2, 3, 4, 5, 6)) % 11) % 10)


def local_government_code(five_digits: str) -> str:
    """The 6-digit 全国地方公共団体コード for a 5-digit JIS X 0402 code."""
    return five_digits + local_government_check_digit(five_digits)


def validate_local_government_code(text: str) -> str:
    """The 6-digit 全国地方公共団体コード in ``text``: JIS X 0402 code ``abcde`` + check digit.

    Only the format and the check digit are checked, not that the local government exists.
    The check digit misses a single-digit error exactly when it moves the weighted sum
    between residues 0 and 10 mod 11, both of which give check digit 1.
    """
    code = _digits(IdentifierKind.LOCAL_GOVERNMENT_CODE, text.strip(), 6)
    expected = local_government_check_digit(code[:5])
    if code[5] != expected:
        raise _check_digit_mismatch(IdentifierKind.LOCAL_GOVERNMENT_CODE, code[5], expected)
    return code


def random_local_government_code(rng: random.Random) -> str:
    """A well-formed code with a prefecture part 01–47; it need not name a real municipality."""
    prefecture = rng.randint(1, 47)
    return local_government_code(f"{prefecture:02d}{_random_digits(rng, 3)}")


# 法人番号 --------------------------------------------------------------------------------


def corporate_number_check_digit(twelve_digits: str) -> str:
    """Check digit of a 法人番号: CD = 9 − (Σ Pn·Qn mod 9), Qn = 1 (odd n) or 2 (even n).

    Pn is the n-th digit of the 12-digit base counted from the right; the result is 1–9.
    """
    base = _digits(IdentifierKind.CORPORATE_NUMBER, twelve_digits, 12, "base number")
    return str(9 - _weighted_sum(base, (1, 2) * 6) % 9)


def validate_corporate_number(text: str) -> str:
    """The 13-digit 法人番号 in ``text``: check digit first, then the 12-digit base number.

    The check digit misses exactly one kind of single-digit error: a 0 in the base number
    read as 9 or the other way round.  Both weights are coprime to 9, so only a change of
    a digit by ±9 leaves the weighted sum unchanged mod 9.
    """
    number = _digits(IdentifierKind.CORPORATE_NUMBER, text.strip(), 13)
    expected = corporate_number_check_digit(number[1:])
    if number[0] != expected:
        raise InvalidIdentifier(
            IdentifierKind.CORPORATE_NUMBER,
            f"check digit (the first digit) is {number[0]}, expected {expected}",
        )
    return number


def random_corporate_number(rng: random.Random) -> str:
    """A well-formed 法人番号; it need not belong to a registered corporation."""
    base = _random_digits(rng, 12)
    return corporate_number_check_digit(base) + base


# 個人番号 --------------------------------------------------------------------------------

_PERSONAL_NUMBER_WEIGHTS = (2, 3, 4, 5, 6, 7, 2, 3, 4, 5, 6)


def personal_number_check_digit(eleven_digits: str) -> str:
    """Check digit of a 個人番号: r = Σ Pn·Qn mod 11, CD = 0 if r ≤ 1 else 11 − r.

    Pn is the n-th digit of the 11-digit base counted from the right; Qn = n + 1 for
    n ≤ 6 and n − 5 for n ≥ 7.
    """
    base = _digits(IdentifierKind.PERSONAL_NUMBER, eleven_digits, 11, "base number")
    remainder = _weighted_sum(base, _PERSONAL_NUMBER_WEIGHTS) % 11
    return "0" if remainder <= 1 else str(11 - remainder)


def validate_personal_number(text: str) -> str:
    """The 12-digit 個人番号 in ``text``: 11-digit base number + check digit.

    The check digit misses a single-digit error exactly when it moves the weighted sum
    between residues 0 and 1 mod 11, both of which give check digit 0.
    """
    number = _digits(IdentifierKind.PERSONAL_NUMBER, text.strip(), 12)
    expected = personal_number_check_digit(number[:11])
    if number[11] != expected:
        raise _check_digit_mismatch(IdentifierKind.PERSONAL_NUMBER, number[11], expected)
    return number


def random_personal_number(rng: random.Random) -> str:
    """A well-formed, synthetic 個人番号."""
    base = _random_digits(rng, 11)
    return base + personal_number_check_digit(base)


# 不動産ID --------------------------------------------------------------------------------

_FLOOR_LEVEL_CODES = ("G0", "GM", "B0", "BM")
_FLOOR_SPECIAL_CODE = re.compile(r"(?:G0|GM|B0|BM)(?!00)[0-9]{2}")
_ROOM_SPECIAL_CODE = re.compile(r"(?=.*[1-9])[0-9A-Z]{4}")


def validate_real_estate_id(text: str) -> str:
    """The 不動産ID in ``text``: 13-digit 不動産番号, ``-``, 4-character 特定コード.

    The 不動産番号 carries no check digit.  kiban accepts these 特定コード, following the
    不動産IDルールガイドライン (MLIT, 2022):

    - ``0000``: land, a house, a whole non-sectional building, or a unit of a
      sectional-ownership building (anything the 不動産番号 identifies on its own);
    - ``000B``: a whole sectional-ownership building (with its land's 不動産番号);
    - a floor: level code ``G0`` (above ground), ``GM`` (above-ground mezzanine), ``B0``
      (basement) or ``BM`` (basement mezzanine), then the floor number ``01``–``99``,
      e.g. ``G018`` for the 18th floor;
    - a room: the room number's digits and uppercase ASCII letters, right-aligned and
      padded with ``0`` to 4 characters, e.g. ``0203`` for room 203.  kiban requires a
      room number to contain a non-zero digit, so that ``0000``, ``000B`` and
      letters-only codes are never read as rooms.

    Letters must be uppercase; no other characters are accepted.
    """
    kind = IdentifierKind.REAL_ESTATE_ID
    value = text.strip()
    property_number, hyphen, special_code = value.partition("-")
    if not hyphen:
        raise InvalidIdentifier(
            kind, "must be a 13-digit 不動産番号, '-' and a 4-character 特定コード"
        )
    _digits(kind, property_number, 13, "不動産番号")
    if len(special_code) != 4:
        raise InvalidIdentifier(kind, f"特定コード must be 4 characters, got {len(special_code)}")
    if special_code in ("0000", "000B"):
        return value
    if _FLOOR_SPECIAL_CODE.fullmatch(special_code) or _ROOM_SPECIAL_CODE.fullmatch(special_code):
        return value
    if special_code != special_code.upper():
        raise InvalidIdentifier(kind, "letters in the 特定コード must be uppercase")
    raise InvalidIdentifier(
        kind,
        "特定コード must be 0000, 000B, a floor (G0, GM, B0 or BM + floor 01-99) or a room"
        " number of digits and uppercase letters padded with 0 to 4 characters",
    )


def random_real_estate_id(rng: random.Random) -> str:
    """A well-formed 不動産ID with any kind of 特定コード; it need not be registered."""
    property_number = _random_digits(rng, 13)
    shape = rng.choice(("parcel", "building", "floor", "room"))
    if shape == "parcel":
        special_code = "0000"
    elif shape == "building":
        special_code = "000B"
    elif shape == "floor":
        special_code = f"{rng.choice(_FLOOR_LEVEL_CODES)}{rng.randint(1, 99):02d}"
    else:
        special_code = f"{rng.randint(1, 99):02d}{rng.randint(1, 99):02d}"
    return f"{property_number}-{special_code}"


# 住民票コード ----------------------------------------------------------------------------

_RESIDENT_RECORD_CODE_WEIGHTS = (2, 3, 4, 5, 6, 7, 2, 3, 4, 5)


def _resident_record_check_value(base: str) -> int:
    return -_weighted_sum(base, _RESIDENT_RECORD_CODE_WEIGHTS) % 11


def resident_record_code_check_digit(ten_digits: str) -> str:
    """kiban's check digit for a 住民票コード, or raise if the base number cannot have one.

    kiban defines this rule itself (it does not implement J-LIS's): with Pn the n-th digit
    of the 10-digit base counted from the right and weights Qn = 2, 3, 4, 5, 6, 7, 2, 3, 4, 5,
    CD = (11 − Σ Pn·Qn mod 11) mod 11, and base numbers for which that is 10 are never
    issued.  In other words the weighted sum of all 11 digits, the check digit weighing 1,
    is 0 mod 11.  As every weight is non-zero mod 11 and adjacent weights differ, this
    catches every single-digit error and every transposition of adjacent digits.
    """
    kind = IdentifierKind.RESIDENT_RECORD_CODE
    check_value = _resident_record_check_value(_digits(kind, ten_digits, 10, "base number"))
    if check_value == 10:
        raise InvalidIdentifier(kind, "no code is issued with these first 10 digits")
    return str(check_value)


def validate_resident_record_code(text: str) -> str:
    """The 11-digit 住民票コード in ``text``: 10-digit base number + kiban's check digit."""
    code = _digits(IdentifierKind.RESIDENT_RECORD_CODE, text.strip(), 11)
    expected = resident_record_code_check_digit(code[:10])
    if code[10] != expected:
        raise _check_digit_mismatch(IdentifierKind.RESIDENT_RECORD_CODE, code[10], expected)
    return code


def random_resident_record_code(rng: random.Random) -> str:
    """A well-formed, synthetic 住民票コード."""
    base = _random_digits(rng, 10)
    while _resident_record_check_value(base) == 10:
        base = _random_digits(rng, 10)
    return base + resident_record_code_check_digit(base)


# 宛名番号 --------------------------------------------------------------------------------


def addressee_number_check_digit(nine_digits: str) -> str:
    """kiban's check digit for a 宛名番号: the Luhn (modulus 10) digit of the 9-digit serial.

    Each municipality numbers its addressees its own way; kiban defines the 宛名番号 as a
    9-digit serial + Luhn check digit.  Luhn catches every single-digit error and every
    transposition of adjacent digits except 09 ↔ 90.
    """
    serial = _digits(IdentifierKind.ADDRESSEE_NUMBER, nine_digits, 9, "serial number")
    total = 0
    for position, digit in enumerate(reversed(serial)):
        value = int(digit) * (2 if position % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return str(-total % 10)


def validate_addressee_number(text: str) -> str:
    """The 10-digit 宛名番号 in ``text``: 9-digit serial + Luhn check digit (kiban's format)."""
    number = _digits(IdentifierKind.ADDRESSEE_NUMBER, text.strip(), 10)
    expected = addressee_number_check_digit(number[:9])
    if number[9] != expected:
        raise _check_digit_mismatch(IdentifierKind.ADDRESSEE_NUMBER, number[9], expected)
    return number


def random_addressee_number(rng: random.Random) -> str:
    """A well-formed 宛名番号 with a non-zero serial."""
    serial = f"{rng.randint(1, 999_999_999):09d}"
    return serial + addressee_number_check_digit(serial)


VALIDATORS: Mapping[IdentifierKind, Callable[[str], str]] = {
    IdentifierKind.LOCAL_GOVERNMENT_CODE: validate_local_government_code,
    IdentifierKind.CORPORATE_NUMBER: validate_corporate_number,
    IdentifierKind.PERSONAL_NUMBER: validate_personal_number,
    IdentifierKind.REAL_ESTATE_ID: validate_real_estate_id,
    IdentifierKind.RESIDENT_RECORD_CODE: validate_resident_record_code,
    IdentifierKind.ADDRESSEE_NUMBER: validate_addressee_number,
}
"""The validator of each kind of identifier."""
