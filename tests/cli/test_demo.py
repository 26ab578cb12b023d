"""What `make run` does before serving: a fresh SQLite database, migrated and seeded once."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path


def _kiban(directory: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "KIBAN_DATABASE_URL": f"sqlite:///{directory / 'kiban.db'}",
        "KIBAN_DATA_DIR": str(directory),
    }
    return subprocess.run(
        [sys.executable, "-m", "kiban", *arguments],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        env=environment,
    )


def test_the_demo_database_is_built_and_seeded_once(tmp_path: Path) -> None:
    upgraded = _kiban(tmp_path, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    first = _kiban(tmp_path, "seed", "--demo")
    assert first.returncode == 0, first.stderr
    assert "seeded 3,000 residents" in first.stderr
    second = _kiban(tmp_path, "seed", "--demo")
    assert second.returncode == 0, second.stderr
    assert "already seeded" in second.stderr

    with sqlite3.connect(tmp_path / "kiban.db") as database:
        tenants = {code for (code,) in database.execute("SELECT code FROM tenants")}
        residents = database.execute("SELECT count(*) FROM residents").fetchone()[0]
        corporations = database.execute(
            "SELECT count(*), count(DISTINCT substr(lg_code, 1, 2)) FROM corporations"
        ).fetchone()
    assert tenants == {"131016", "132012", "271004"}  # two prefectures, one designated city
    assert residents == 3_000
    assert corporations == (303, 2)  # 300 companies and the three municipalities themselves
    # The key that hashes personal numbers was generated here, readable by no one else.
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
