"""``kiban mesh log …``: what a member's operator or an auditor runs on a gateway's log."""

from __future__ import annotations

import sqlite3
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from sqlalchemy import Engine

from kiban.cli import mesh as mesh_cli
from kiban.mesh.gateway.log import MessageLog
from kiban_command import run_kiban, run_kiban_in_process
from mesh.gateway.test_log import (
    START,
    Pki,
    fill,
    gateway_engine,
    message_log,
    pki,
    tamper,
)

__all__ = ["gateway_engine", "message_log", "pki"]  # fixtures

pytestmark = pytest.mark.skipif(
    not any(group.name == "log" for group in mesh_cli.app.registered_groups),
    reason="`kiban mesh log` is not wired into `kiban mesh` yet",
)


def log_command(*arguments: str) -> subprocess.CompletedProcess[str]:
    return run_kiban_in_process("mesh", "log", *arguments)


@pytest.fixture
def filled(message_log: MessageLog, empty_database: str) -> str:
    """The URL of a gateway database with 30 records, signed at 10, 20 and 30."""
    fill(message_log, 30)
    return empty_database


@pytest.fixture
def root_pem(pki: Pki, tmp_path: Path) -> Path:
    path = tmp_path / "root.pem"
    path.write_bytes(pki.root.public_bytes(serialization.Encoding.PEM))
    return path


def test_verify_says_intact_in_one_line(filled: str, root_pem: Path) -> None:
    done = log_command("verify", "--database-url", filled, "--root", str(root_pem))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "30 records, chain intact / 改ざんなし"
        " (signed up to 30 by JP/LG/131016; 0 after the last checkpoint)"
    ]


def test_verify_names_each_finding_and_fails(filled: str, gateway_engine: Engine) -> None:
    tamper(
        gateway_engine,
        "UPDATE gateway_log_records SET purpose = 'curiosity' WHERE seq = 15",
        "DELETE FROM gateway_log_records WHERE seq IN (21, 22)",
    )
    done = log_command("verify", "--database-url", filled)
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        "record 15: changed / 改ざん: its content no longer matches its hash"
        " / 内容が改ざんされています",
        "records 21–22: deleted / 削除: missing / 記録がありません",
        "28 records, 2 findings / 問題が見つかりました",
    ]


def test_archive_verify_archive_prune_then_verify(
    filled: str, tmp_path: Path, root_pem: Path, gateway_engine: Engine
) -> None:
    out = tmp_path / "2026-11.jsonl.gz"
    before = (START + timedelta(minutes=25)).isoformat()
    done = log_command("archive", "--database-url", filled, "--before", before, "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"records 1–20 (20) archived to {out} / アーカイブしました\n"

    done = log_command("verify-archive", str(out), "--root", str(root_pem))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("20 records, chain intact / 改ざんなし")

    done = log_command("prune", "--database-url", filled, "--archive", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"20 records removed; they are in {out} / 削除しました\n"

    done = log_command("verify", "--database-url", filled, "--root", str(root_pem))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("10 records, chain intact / 改ざんなし")
    assert "records up to 20 archived" in done.stdout

    again = log_command("archive", "--database-url", filled, "--before", before, "--out", str(out))
    assert again.returncode == 2
    assert "archives are never overwritten" in again.stderr


def _not_a_gateway(tmp_path: Path) -> str:
    path = tmp_path / "platform.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE something_else (x INTEGER)")
    return f"sqlite:///{path}"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["verify", "--database-url", "sqlite:///{tmp}/missing.db"], "no such database"),
        (["verify", "--database-url", "nonsense"], "not a database URL"),
        (["verify", "--database-url", "{platform}"], "not a gateway database"),
        (["verify", "--database-url", "{filled}", "--root", "{tmp}/none.pem"], "cannot read"),
        (["verify", "--database-url", "{filled}", "--root", "{text}"], "not a PEM"),
        (
            ["archive", "--database-url", "{filled}", "--before", "soon", "--out", "{tmp}/a.gz"],
            "not an ISO 8601",
        ),
        (
            ["archive", "--database-url", "{filled}", "--before", "2000-01-01", "--out", "{tmp}/a"],
            "nothing to archive yet",
        ),
        (["prune", "--database-url", "{filled}", "--archive", "{tmp}/none.gz"], "cannot read"),
        (["verify-archive", "{text}"], "is not a kiban-mesh-log-archive"),
    ],
    ids=[
        "missing",
        "bad-url",
        "not-gateway",
        "no-root",
        "bad-root",
        "bad-date",
        "too-early",
        "no-archive",
        "not-archive",
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    filled: str, tmp_path: Path, arguments: list[str], message: str
) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not a certificate, not an archive\n", encoding="utf-8")
    values = {
        "tmp": str(tmp_path),
        "filled": filled,
        "text": str(text),
        "platform": _not_a_gateway(tmp_path),
    }
    done = log_command(*(argument.format(**values) for argument in arguments))
    assert done.returncode == 2, done.stdout
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_the_installed_command_verifies(filled: str) -> None:
    """The real ``kiban`` in a process of its own, as an operator runs it."""
    done = run_kiban("mesh", "log", "verify", "--database-url", filled)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("30 records, chain intact / 改ざんなし")
