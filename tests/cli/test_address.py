"""``kiban address normalize`` through the real entry point; with a terminal, in a process of its
own, as a user runs it."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

from sqlalchemy import Engine

from kiban_command import run_kiban_in_process

EXPECTED_KEYS = [
    "input",
    "pref",
    "city",
    "lg_code",
    "town",
    "rest",
    "postal_code",
    "level",
    "score",
]


def test_stdin_to_ndjson(engine: Engine, database_url: str) -> None:
    result = run_kiban_in_process(
        "address",
        "normalize",
        "--format",
        "ndjson",
        database_url=database_url,
        stdin="東京都千代田区霞が関１－３－１\n🙂\n",
    )
    assert result.returncode == 0, result.stderr
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert list(first) == EXPECTED_KEYS
    assert (first["lg_code"], first["town"], first["rest"], first["level"]) == (
        "131016",
        "霞が関一丁目",
        "3-1",
        3,
    )
    assert second["level"] == 0


def test_file_to_csv_and_a_bad_line(engine: Engine, database_url: str, tmp_path: Path) -> None:
    good = tmp_path / "addresses.txt"
    good.write_text("\ufeff神奈川県寒川町宮山135\n大阪府大阪市北区梅田1-1\n", encoding="utf-8")
    result = run_kiban_in_process(
        "address", "normalize", str(good), "--format", "csv", database_url=database_url
    )
    assert result.returncode == 0, result.stderr
    header, samukawa, umeda = result.stdout.splitlines()
    assert header.split(",") == EXPECTED_KEYS
    assert samukawa.split(",")[1:5] == ["神奈川県", "高座郡寒川町", "143219", "宮山"]
    assert umeda.split(",")[3:5] == ["271276", "梅田一丁目"]

    broken = tmp_path / "broken.txt"
    broken.write_bytes("東京都\n".encode() + b"\xff\xfe\n")
    failed = run_kiban_in_process("address", "normalize", str(broken), database_url=database_url)
    assert failed.returncode != 0
    assert failed.stderr.strip().splitlines()[-1] == (
        f"kiban: error: {broken}: line 2 is not valid UTF-8"
    )
    assert "Traceback" not in failed.stderr


def test_missing_file_is_one_line(engine: Engine, database_url: str, tmp_path: Path) -> None:
    result = run_kiban_in_process(
        "address", "normalize", str(tmp_path / "nope.txt"), database_url=database_url
    )
    assert result.returncode == 2
    assert result.stderr.strip() == f"kiban: error: {tmp_path / 'nope.txt'}: no such file"


def test_results_reach_stdout_while_the_bar_is_on_a_terminal(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    addresses = tmp_path / "addresses.txt"
    addresses.write_text("東京都千代田区霞が関１－３－１\n" * 500, encoding="utf-8")
    terminal, terminal_side = pty.openpty()  # stderr is a terminal, so the bar is drawn
    try:
        result = subprocess.run(
            [sys.executable, "-m", "kiban", "address", "normalize", str(addresses)],
            stdout=subprocess.PIPE,
            stderr=terminal_side,
            env={**os.environ, "KIBAN_DATABASE_URL": database_url},
            check=False,
            timeout=120,
        )
    finally:
        os.close(terminal_side)
        os.close(terminal)
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert len(lines) == 500
    assert json.loads(lines[-1])["lg_code"] == "131016"
