"""``kiban id validate``, through the real entry point; once in a child process of its own."""

from __future__ import annotations

import re

import pytest

from kiban_command import run_kiban, run_kiban_in_process


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("lgcode", "131016"),
        ("corporate", "4011001098993"),
        ("personal", "123456789018"),
        ("personal", "１２３４ ５６７８ ９０１８"),
        ("realestate", "1812345678901-G018"),
        ("residentcode", "00000000019"),
        ("addressee", "0046454286"),
    ],
)
def test_valid_identifier_prints_valid_and_exits_0(kind: str, value: str) -> None:
    result = run_kiban_in_process("id", "validate", kind, value)
    assert (result.returncode, result.stdout, result.stderr) == (0, "valid\n", "")


def test_invalid_identifier_prints_one_line_reason_and_exits_1() -> None:
    result = run_kiban("id", "validate", "corporate", "1123456789012")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        "kiban: error: 法人番号 (corporate number):"
        " check digit (the first digit) is 1, expected 7\n"
    )


@pytest.mark.parametrize("number", ["123456789013", "12345678901", "1234567890123", "12345678901x"])
def test_invalid_personal_number_never_appears_in_output(number: str) -> None:
    result = run_kiban_in_process("id", "validate", "personal", number)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("kiban: error: 個人番号 (personal number): ")
    assert result.stderr.count("\n") == 1
    output = result.stdout + result.stderr
    assert number not in output
    assert not re.search(r"[0-9]{3}", output)


def test_unknown_kind_is_a_one_line_usage_error() -> None:
    result = run_kiban_in_process("id", "validate", "passport", "TK1234567")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        "kiban: error: unknown identifier kind 'passport'; expected one of:"
        " lgcode, corporate, personal, realestate, residentcode, addressee\n"
    )


def test_missing_value_is_a_usage_error_without_traceback() -> None:
    result = run_kiban_in_process("id", "validate", "personal")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "Missing argument" in result.stderr


def test_help_lists_the_kinds() -> None:
    result = run_kiban_in_process("id", "validate", "--help")
    assert result.returncode == 0
    assert "residentcode" in result.stdout
