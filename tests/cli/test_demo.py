"""What `make run` does before serving: a fresh SQLite database, migrated and seeded once."""

from __future__ import annotations

import sqlite3
from functools import partial
from pathlib import Path

from kiban_command import RunKiban, run_kiban, run_kiban_in_process


def test_the_demo_database_is_built_and_seeded_once(tmp_path: Path) -> None:
    # What `make run` uses: a SQLite file and a data directory of its own.
    database_url = f"sqlite:///{tmp_path / 'kiban.db'}"
    upgraded = run_kiban("db", "upgrade", database_url=database_url, data_dir=tmp_path, timeout=300)
    assert upgraded.returncode == 0, upgraded.stderr

    def seed(run: RunKiban) -> str:
        # As `make run` seeds: with the demo (wallet and demo staff) switched on.
        result = run(
            "seed",
            "--demo",
            database_url=database_url,
            data_dir=tmp_path,
            environment={"KIBAN_DEMO_WALLET": "true"},
        )
        assert result.returncode == 0, result.stderr
        return result.stderr

    assert "seeded 3,000 residents" in seed(partial(run_kiban, timeout=300))
    assert "already seeded" in seed(run_kiban_in_process)

    with sqlite3.connect(tmp_path / "kiban.db") as database:
        tenants = {code for (code,) in database.execute("SELECT code FROM tenants")}
        residents = database.execute("SELECT count(*) FROM residents").fetchone()[0]
        staff = database.execute(
            "SELECT count(*), count(DISTINCT tenant_code) FROM staff_accounts"
        ).fetchone()
        corporations = database.execute(
            "SELECT count(*), count(DISTINCT substr(lg_code, 1, 2)) FROM corporations"
        ).fetchone()
    assert tenants == {"131016", "132012", "271004"}  # two prefectures, one designated city
    assert residents == 3_000
    assert staff == (12, 3)  # the demo staff: four roles in each demo tenant
    assert corporations == (303, 2)  # 300 companies and the three municipalities themselves
    # The key that hashes personal numbers was generated here, readable by no one else.
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
