"""Identifier check digits, formats and generators, checked against DESIGN.md's rules.

The single-digit-error properties state exactly which errors each check digit misses, as
derived in each validator's docstring; the oracles below recompute the weighted sums from
DESIGN.md's formulas rather than from the implementation.
"""

from __future__ import annotations

import contextlib
import random
import re
from collections.abc import Callable, Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiban.core.identifiers import (
    VALIDATORS,
    IdentifierKind,
    InvalidIdentifier,
    addressee_number_check_digit,
    corporate_number_check_digit,
    local_government_check_digit,
    local_government_code,
    normalize,
    normalize_digits,
    normalize_real_estate_id,
    personal_number_check_digit,
    random_addressee_number,
    random_corporate_number,
    random_local_government_code,
    random_personal_number,
    random_real_estate_id,
    random_resident_record_code,
    resident_record_code_check_digit,
    validate_addressee_number,
    validate_corporate_number,
    validate_local_government_code,
    validate_personal_number,
    validate_real_estate_id,
    validate_resident_record_code,
)

GENERATORS: dict[IdentifierKind, Callable[[random.Random], str]] = {
    IdentifierKind.LOCAL_GOVERNMENT_CODE: random_local_government_code,
    IdentifierKind.CORPORATE_NUMBER: random_corporate_number,
    IdentifierKind.PERSONAL_NUMBER: random_personal_number,
    IdentifierKind.REAL_ESTATE_ID: random_real_estate_id,
    IdentifierKind.RESIDENT_RECORD_CODE: random_resident_record_code,
    IdentifierKind.ADDRESSEE_NUMBER: random_addressee_number,
}

DIGITS = "0123456789"


def is_valid(kind: IdentifierKind, text: str) -> bool:
    try:
        VALIDATORS[kind](text)
    except InvalidIdentifier:
        return False
    return True


def weighted_residue(base: str, weights_from_right: tuple[int, ...], modulus: int) -> int:
    return (
        sum(int(p) * q for p, q in zip(reversed(base), weights_from_right, strict=True)) % modulus
    )


def single_digit_changes(value: str) -> Iterator[tuple[int, str]]:
    """Every (position, changed value) that differs from ``value`` in one digit."""
    for position, original in enumerate(value):
        for digit in DIGITS.replace(original, ""):
            yield position, value[:position] + digit + value[position + 1 :]


def digit_strings(length: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=DIGITS, min_size=length, max_size=length)


# Known values ---------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["131016", "130001", "011045", "033812"])
def test_known_local_government_codes_are_valid(code: str) -> None:
    assert validate_local_government_code(code) == code
    assert local_government_code(code[:5]) == code


def test_local_government_check_digit_rejects_a_malformed_jis_code_with_value_error() -> None:
    # Callers written before InvalidIdentifier existed catch ValueError.
    with pytest.raises(ValueError, match="JIS X 0402 code must be 5 digits, got 4"):
        local_government_check_digit("1310")


@pytest.mark.parametrize("number", ["7123456789012", "4011001098993"])
def test_known_corporate_numbers_are_valid(number: str) -> None:
    assert validate_corporate_number(number) == number
    assert corporate_number_check_digit(number[1:]) == number[0]


def test_known_personal_number_is_valid() -> None:
    assert personal_number_check_digit("12345678901") == "8"
    assert validate_personal_number("123456789018") == "123456789018"


@pytest.mark.parametrize(
    "real_estate_id",
    [
        "1812345678901-0000",
        "1812345678901-000B",
        "1812345678901-G018",
        "1812345678901-GM01",
        "1812345678901-B001",
        "1812345678901-BM02",
        "1812345678901-0203",
        "1812345678901-1802",
        "1812345678901-A101",
        "1812345678901-00A1",
    ],
)
def test_real_estate_ids_with_each_kind_of_special_code_are_valid(real_estate_id: str) -> None:
    assert validate_real_estate_id(real_estate_id) == real_estate_id


@pytest.mark.parametrize(
    ("real_estate_id", "reason"),
    [
        ("18123456789010000", "'-'"),
        ("181234567890-0000", "不動産番号 must be 13 digits, got 12"),
        ("1812345678901-000", "特定コード must be 4 characters, got 3"),
        ("1812345678901-00000", "特定コード must be 4 characters, got 5"),
        ("1812345678901-g018", "must be uppercase"),
        ("1812345678901-G000", "floor 01-99"),
        ("1812345678901-BM00", "floor 01-99"),
        ("1812345678901-000A", "room"),
        ("1812345678901-ABCD", "room"),
        ("1812345678901-02 3", "room"),
        ("1812345678901-０２０３", "room"),
        ("1812345678901-0203-", "特定コード must be 4 characters, got 5"),
    ],
)
def test_malformed_real_estate_ids_are_rejected(real_estate_id: str, reason: str) -> None:
    with pytest.raises(InvalidIdentifier, match=re.escape(reason)):
        validate_real_estate_id(real_estate_id)


def test_surrounding_whitespace_is_ignored() -> None:
    assert validate_local_government_code(" 131016\n") == "131016"
    assert validate_real_estate_id("\t1812345678901-G018 ") == "1812345678901-G018"


@pytest.mark.parametrize(
    ("validator", "text", "reason"),
    [
        (validate_local_government_code, "131013", "check digit is 3, expected 6"),
        (validate_local_government_code, "13101", "must be 6 digits, got 5"),
        (validate_local_government_code, "", "is empty; it must be 6 digits"),
        (validate_local_government_code, "１３１０１６", "must contain only the digits 0-9"),
        (
            validate_corporate_number,
            "1123456789012",
            "check digit (the first digit) is 1, expected 7",
        ),
        (validate_corporate_number, "712345678901", "must be 13 digits, got 12"),
        (validate_personal_number, "123456789013", "check digit does not match"),
        (validate_personal_number, "1234-5678-9018", "must contain only the digits 0-9"),
        (validate_resident_record_code, "00000000018", "check digit is 8, expected 9"),
        (validate_resident_record_code, "00000200000", "no code is issued"),
        (validate_addressee_number, "0000000010", "check digit is 0, expected 8"),
    ],
)
def test_invalid_values_raise_with_a_reason(
    validator: Callable[[str], str], text: str, reason: str
) -> None:
    with pytest.raises(InvalidIdentifier, match=re.escape(reason)):
        validator(text)


# Personal numbers stay out of messages ---------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "123456789013",
        "123456789010",
        "12345678901",
        "1234567890189",
        "12345678901x",
        "023456789018",
    ],
)
def test_personal_number_errors_never_echo_the_number(text: str) -> None:
    with pytest.raises(InvalidIdentifier) as raised:
        validate_personal_number(text)
    message = str(raised.value)
    assert raised.value.reason in message
    assert not re.search(r"[0-9]{3}", message), message


@given(base=digit_strings(11))
def test_personal_number_check_digit_errors_reveal_no_digit(base: str) -> None:
    number = base + personal_number_check_digit(base)
    for _, changed in single_digit_changes(number):
        if not is_valid(IdentifierKind.PERSONAL_NUMBER, changed):
            with pytest.raises(InvalidIdentifier) as raised:
                validate_personal_number(changed)
            assert str(raised.value) == "個人番号 (personal number): check digit does not match"


# Normalisation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "normalized"),
    [
        ("１２３４ ５６７８ ９０１８", "123456789018"),
        ("1234-5678-9018", "123456789018"),
        ("1234－5678ー9018", "123456789018"),
        ("\u3000131016\u3000", "131016"),
        ("12a4", "12a4"),
    ],
)
def test_normalize_digits_folds_what_people_type(typed: str, normalized: str) -> None:
    assert normalize_digits(typed) == normalized


def test_normalized_full_width_personal_number_validates() -> None:
    typed = "１２３４ ５６７８ ９０１８"
    assert validate_personal_number(normalize(IdentifierKind.PERSONAL_NUMBER, typed))


@pytest.mark.parametrize(
    ("typed", "normalized"),
    [
        ("１８１２３４５６７８９０１－Ｇ０１８", "1812345678901-G018"),
        ("1812345678901 ー g018", "1812345678901-G018"),
        ("1812345678901−000b", "1812345678901-000B"),
    ],
)
def test_normalize_real_estate_id_keeps_one_hyphen(typed: str, normalized: str) -> None:
    assert normalize_real_estate_id(typed) == normalized
    assert normalize(IdentifierKind.REAL_ESTATE_ID, typed) == normalized


# Generators ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(IdentifierKind))
@given(seed=st.integers())
def test_every_generated_value_validates(kind: IdentifierKind, seed: int) -> None:
    value = GENERATORS[kind](random.Random(seed))
    assert VALIDATORS[kind](value) == value


@pytest.mark.parametrize("kind", list(IdentifierKind))
@given(seed=st.integers())
def test_generators_are_deterministic_for_a_seed(kind: IdentifierKind, seed: int) -> None:
    first, second = random.Random(seed), random.Random(seed)
    assert [GENERATORS[kind](first) for _ in range(3)] == [
        GENERATORS[kind](second) for _ in range(3)
    ]


def test_real_estate_generator_yields_every_kind_of_special_code() -> None:
    rng = random.Random(20240618)
    special_codes = {random_real_estate_id(rng)[14:] for _ in range(200)}
    assert {"0000", "000B"} <= special_codes
    assert any(code[:2] in ("G0", "GM", "B0", "BM") for code in special_codes)
    assert any(code.isdigit() and code != "0000" for code in special_codes)


# Single-digit errors ---------------------------------------------------------------------
# Each property tries every single-digit change of the drawn value.  A changed check digit
# is always caught, since each base has exactly one check digit.


@given(base=digit_strings(5))
def test_local_government_code_misses_only_changes_between_residues_0_and_10(base: str) -> None:
    weights = (2, 3, 4, 5, 6)
    code = local_government_code(base)
    for position, changed in single_digit_changes(code):
        residues = {weighted_residue(base, weights, 11), weighted_residue(changed[:5], weights, 11)}
        missed = position < 5 and residues == {0, 10}
        assert is_valid(IdentifierKind.LOCAL_GOVERNMENT_CODE, changed) == missed, changed


def test_local_government_code_single_digit_error_that_is_missed() -> None:
    # 東京都 130001 read as 330001 (岡山県): residues 0 and 10 both give check digit 1.
    assert validate_local_government_code("330001") == "330001"


@given(base=digit_strings(12))
def test_corporate_number_misses_only_0_and_9_swapped_in_the_base(base: str) -> None:
    number = corporate_number_check_digit(base) + base
    for position, changed in single_digit_changes(number):
        missed = position > 0 and {number[position], changed[position]} == {"0", "9"}
        assert is_valid(IdentifierKind.CORPORATE_NUMBER, changed) == missed, changed


def test_corporate_number_single_digit_error_that_is_missed() -> None:
    assert validate_corporate_number("4011001098993")
    assert validate_corporate_number("4911001098993")


@given(base=digit_strings(11))
def test_personal_number_misses_only_changes_between_residues_0_and_1(base: str) -> None:
    weights = (2, 3, 4, 5, 6, 7, 2, 3, 4, 5, 6)
    number = base + personal_number_check_digit(base)
    for position, changed in single_digit_changes(number):
        residues = {
            weighted_residue(base, weights, 11),
            weighted_residue(changed[:11], weights, 11),
        }
        missed = position < 11 and residues == {0, 1}
        # No message here: a failing assertion must not print the (synthetic) number either.
        assert is_valid(IdentifierKind.PERSONAL_NUMBER, changed) == missed


def test_personal_number_single_digit_error_that_is_missed() -> None:
    assert validate_personal_number("456428071500")
    assert validate_personal_number("256428071500")


@pytest.mark.parametrize(
    "kind", [IdentifierKind.RESIDENT_RECORD_CODE, IdentifierKind.ADDRESSEE_NUMBER]
)
@given(seed=st.integers())
def test_kiban_defined_codes_catch_every_single_digit_error(
    kind: IdentifierKind, seed: int
) -> None:
    value = GENERATORS[kind](random.Random(seed))
    for _, changed in single_digit_changes(value):
        assert not is_valid(kind, changed), changed


# Adjacent transpositions: only for the two schemes kiban chose to catch them -------------


def adjacent_transpositions(value: str) -> Iterator[tuple[str, str]]:
    """Every (swapped pair, changed value) that differs from ``value`` by one adjacent swap."""
    for position in range(len(value) - 1):
        pair = value[position : position + 2]
        if pair[0] != pair[1]:
            yield pair, value[:position] + pair[::-1] + value[position + 2 :]


@given(seed=st.integers())
def test_resident_record_code_catches_every_adjacent_transposition(seed: int) -> None:
    code = random_resident_record_code(random.Random(seed))
    for _, swapped in adjacent_transpositions(code):
        assert not is_valid(IdentifierKind.RESIDENT_RECORD_CODE, swapped), swapped


@given(seed=st.integers())
def test_addressee_number_catches_adjacent_transpositions_except_09(seed: int) -> None:
    number = random_addressee_number(random.Random(seed))
    for pair, swapped in adjacent_transpositions(number):
        missed = set(pair) == {"0", "9"}
        assert is_valid(IdentifierKind.ADDRESSEE_NUMBER, swapped) == missed, swapped


def test_resident_record_code_rejects_bases_that_would_need_check_digit_10() -> None:
    with pytest.raises(InvalidIdentifier, match="no code is issued"):
        resident_record_code_check_digit("0000020000")


@given(serial=digit_strings(9))
def test_addressee_check_digit_makes_the_luhn_sum_a_multiple_of_10(serial: str) -> None:
    number = serial + addressee_number_check_digit(serial)
    doubled_or_not = [int(d) * (2 if i % 2 else 1) for i, d in enumerate(reversed(number))]
    assert sum(value // 10 + value % 10 for value in doubled_or_not) % 10 == 0


def test_addressee_check_digit_agrees_with_a_published_luhn_number() -> None:
    # 046 454 286 is the usual example of a valid Canadian SIN, a Luhn number; a leading
    # 0 does not change a Luhn check digit.
    assert validate_addressee_number("0046454286") == "0046454286"


# Robustness ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(IdentifierKind))
@given(text=st.text())
def test_validators_raise_only_invalid_identifier_on_any_text(
    kind: IdentifierKind, text: str
) -> None:
    with contextlib.suppress(InvalidIdentifier):
        VALIDATORS[kind](text)


@pytest.mark.parametrize("kind", list(IdentifierKind))
@given(text=st.text(alphabet="0123456789０１９ -ー－GMBAgb\n", max_size=20))
def test_validators_raise_only_invalid_identifier_on_digit_like_text(
    kind: IdentifierKind, text: str
) -> None:
    with contextlib.suppress(InvalidIdentifier):
        VALIDATORS[kind](normalize(kind, text))


@given(text=st.text())
def test_check_digit_functions_raise_only_invalid_identifier(text: str) -> None:
    check_digit_functions: list[Callable[[str], str]] = [
        local_government_check_digit,
        corporate_number_check_digit,
        personal_number_check_digit,
        resident_record_code_check_digit,
        addressee_number_check_digit,
    ]
    for check_digit in check_digit_functions:
        with contextlib.suppress(InvalidIdentifier):
            assert check_digit(text) in DIGITS
