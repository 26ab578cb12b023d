"""``kiban seed`` and ``kiban tenant`` refuse bad input with one line and write nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from kiban.core.tenancy import Tenant
from kiban_command import RunKiban, run_kiban, run_kiban_in_process


def _tenants(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(Tenant)) or 0


@pytest.mark.parametrize(
    ("arguments", "reason"),
    [
        (("seed", "--municipalities", "131016", "--residents", "0"), "at least 1"),
        (("seed", "--municipalities", "131016", "--residents", "-5"), "at least 1"),
        (("seed", "--municipalities", "131016"), "--residents is required"),
        (("seed",), "either --demo or --municipalities"),
        (("seed", "--demo", "--residents", "5"), "--residents"),
        (("seed", "--municipalities", "131017", "--residents", "5"), "check digit"),
    ],
)
def test_bad_arguments_are_refused_before_touching_the_database(
    tmp_path: Path, arguments: tuple[str, ...], reason: str
) -> None:
    database = tmp_path / "db" / "kiban.db"
    result = run_kiban_in_process(
        *arguments, database_url=f"sqlite:///{database}", data_dir=tmp_path
    )
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.startswith("kiban: error: ")
    assert result.stderr.count("\n") == 1
    assert reason in result.stderr
    assert not database.exists()


@pytest.mark.parametrize(
    ("run", "arguments", "reason"),
    [
        (
            run_kiban_in_process,
            ("seed", "--municipalities", "131016,999997", "--residents", "5"),
            "no local government",
        ),
        (
            run_kiban_in_process,
            ("seed", "--municipalities", "271276", "--residents", "5"),
            "ward of a designated city",
        ),
        # `kiban tenant` in a process of its own, as a user runs it, once.
        (run_kiban, ("tenant", "enable", "130001"), "not a municipality"),
        (
            run_kiban_in_process,
            ("tenant", "key", "create", "131016", "--name", "x"),
            "not enabled",
        ),
    ],
    ids=["seed-unknown", "seed-ward", "tenant-enable", "tenant-key-create"],
)
def test_unknown_or_unfit_codes_are_one_line_and_write_nothing(
    engine: Engine,
    database_url: str,
    tmp_path: Path,
    run: RunKiban,
    arguments: tuple[str, ...],
    reason: str,
) -> None:
    before = _tenants(engine)
    result = run(*arguments, database_url=database_url, data_dir=tmp_path)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.startswith("kiban: error: ")
    assert result.stderr.count("\n") == 1
    assert reason in result.stderr
    assert _tenants(engine) == before
