"""``kiban corp …`` through the real entry point: seeding, lookups and one-line errors; ``corp get``
once in a process of its own, as a user runs it."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, delete, func, select

from kiban.core.identifiers import validate_corporate_number
from kiban.registry.corporations.models import Corporation
from kiban_command import run_kiban, run_kiban_in_process

VILLAGE = "133078"  # 檜原村: no other test seeds it


def _count(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(Corporation)) or 0


@pytest.fixture
def village_seeded(engine: Engine, database_url: str) -> Iterator[subprocess.CompletedProcess[str]]:
    """The command commits, so the rows it wrote are deleted again after the test."""
    try:
        yield run_kiban_in_process(
            "corp",
            "seed",
            "--municipalities",
            VILLAGE,
            "--count",
            "12",
            "--seed",
            "5",
            database_url=database_url,
        )
    finally:
        with engine.begin() as connection:
            connection.execute(delete(Corporation).where(Corporation.lg_code == VILLAGE))


def test_seed_then_get_and_search(
    engine: Engine, database_url: str, village_seeded: subprocess.CompletedProcess[str]
) -> None:
    assert village_seeded.returncode == 0, village_seeded.stderr
    assert village_seeded.stdout == ""
    assert "13件の法人を登録しました / wrote 13 corporations" in village_seeded.stderr

    found = run_kiban_in_process("corp", "search", "ひのはら", database_url=database_url)
    assert found.returncode == 0, found.stderr
    rows = [json.loads(line) for line in found.stdout.splitlines()]
    village = next(row for row in rows if row["kind"] == "201")
    assert (village["name"], village["kana"]) == ("檜原村", "ヒノハラムラ")

    shown = run_kiban("corp", "get", village["number"], database_url=database_url)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout) == village

    everything = run_kiban_in_process(
        "corp", "search", "", "--area", VILLAGE, "--limit", "20", database_url=database_url
    )
    numbers = [json.loads(line)["number"] for line in everything.stdout.splitlines()]
    assert len(numbers) == 13
    assert all(validate_corporate_number(number) for number in numbers)


def test_get_accepts_the_number_as_people_type_it(
    database_url: str, village_seeded: subprocess.CompletedProcess[str]
) -> None:
    result = run_kiban_in_process(
        "corp", "get", "８０００ ０２０ １３３０７８", database_url=database_url
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["name"] == "檜原村"


@pytest.mark.parametrize(
    ("number", "message"),
    [
        (
            "1123456789012",
            "法人番号 (corporate number): check digit (the first digit) is 1, expected 7",
        ),
        ("12345", "法人番号 (corporate number): must be 13 digits, got 5"),
        ("7123456789012", "法人番号 7123456789012 の法人は登録されていません"),
    ],
)
def test_get_failures_are_one_line_with_exit_1(
    database_url: str, number: str, message: str
) -> None:
    result = run_kiban_in_process("corp", "get", number, database_url=database_url)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith(f"kiban: error: {message}")
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["--municipalities", "131017", "--count", "5"],
            "(local government code): check digit is 7, expected 6",
        ),
        (["--municipalities", "271276", "--count", "5"], "is a ward"),
        (["--municipalities", "131016,999997", "--count", "5"], "no local government has the code"),
        (["--municipalities", " , ", "--count", "5"], "no municipality given"),
        (["--municipalities", "131016", "--count", "-1"], "--count cannot be negative"),
        (["--municipalities", "131016", "--count", "many"], "Invalid value for '--count'"),
        (["--municipalities", "131016"], "Missing option '--count'"),
    ],
)
def test_seed_errors_are_one_line_and_write_nothing(
    engine: Engine, database_url: str, arguments: list[str], message: str
) -> None:
    before = _count(engine)
    result = run_kiban_in_process("corp", "seed", *arguments, database_url=database_url)
    assert result.returncode == 2
    assert result.stderr.startswith("kiban: error: ")
    assert message in result.stderr
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
    assert _count(engine) == before
