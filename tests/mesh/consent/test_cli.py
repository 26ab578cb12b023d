"""``kiban mesh consent``: the operator lists a local government's consents and revokes one."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from kiban.core.audit import AuditEvent
from kiban_command import run_kiban, run_kiban_in_process
from mesh.consent.consent_support import HANAKO, TARO, grant, register_consent_mesh

HEADER = [
    "consent", "subject", "consumer", "service", "items", "purpose", "explanation", "kind",
    "status", "valid_from", "valid_until", "granted_at", "revoked_at", "revoked_by",
    "revocation_reason", "used_at", "used_message_id", "use_count", "last_used_at",
]  # fmt: skip


@pytest.fixture(scope="module")
def consents(private_engine: Engine) -> list[str]:
    """Committed consents at 千代田区: two of 花子's, one of 太郎's."""
    with Session(private_engine) as session:
        register_consent_mesh(session)
        made = [
            grant(session),
            grant(session, kind="one-time", items=["*"]),
            grant(session, addressee_number=TARO),
        ]
        session.commit()
    return made


@pytest.fixture(scope="module")
def database(private_engine: Engine, consents: list[str]) -> str:
    return private_engine.url.render_as_string(hide_password=False)


def _rows(stdout: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(stdout)))


def test_the_operator_lists_a_local_governments_consents(
    database: str, consents: list[str]
) -> None:
    # In a process of its own, as the operator runs it.
    listed = run_kiban(
        "mesh", "consent", "list", "--provider", "JP/LG/131016", database_url=database
    )
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[0] == ",".join(HEADER)
    rows = {row["consent"]: row for row in _rows(listed.stdout)}
    assert set(rows) == set(consents)
    whole = rows[consents[1]]
    assert (whole["subject"], whole["consumer"], whole["items"]) == (
        HANAKO,
        "JP/COM/8900000000001/loans",
        "*",
    )
    assert (whole["kind"], whole["status"], whole["use_count"]) == ("one-time", "active", "0")
    assert whole["explanation"] == "住宅ローンの審査のため、住所と氏名を確認します。"
    of_taro = run_kiban_in_process(
        "mesh", "consent", "list", "--provider", "JP/LG/131016", "--subject", TARO,
        database_url=database,
    )  # fmt: skip
    assert [row["consent"] for row in _rows(of_taro.stdout)] == [consents[2]]
    none = run_kiban_in_process(
        "mesh", "consent", "list", "--provider", "JP/LG/132012", database_url=database
    )
    assert none.stdout.splitlines() == [",".join(HEADER)]


def test_the_operator_revokes_a_consent_saying_why(
    database: str, consents: list[str], private_engine: Engine
) -> None:
    consent_id = consents[0]
    revoked = run_kiban_in_process(
        "mesh", "consent", "revoke", consent_id.upper(),
        "--reason", "裁判所の命令（令和8年(モ)第123号）", database_url=database,
    )  # fmt: skip
    assert revoked.returncode == 0, revoked.stderr
    assert revoked.stdout == f"{consent_id}: revoked / 取り消しました\n"
    listed = run_kiban_in_process(
        "mesh", "consent", "list", "--provider", "JP/LG/131016", database_url=database
    )
    row = next(row for row in _rows(listed.stdout) if row["consent"] == consent_id)
    assert (row["status"], row["revoked_by"], row["revocation_reason"]) == (
        "revoked",
        "operator",
        "裁判所の命令（令和8年(モ)第123号）",
    )
    with Session(private_engine) as session:
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "mesh.consent.revoke")
        ).one()
    assert (event.actor, event.subject) == ("operator", f"resident:131016:{HANAKO}")
    again = run_kiban_in_process(
        "mesh", "consent", "revoke", consent_id, "--reason", "再度", database_url=database
    )
    assert again.returncode == 2
    assert again.stderr == f"kiban: error: consent {consent_id} was revoked already\n"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["list", "--provider", "JP/LG/131017"], "--provider: member code of a LG member"),
        (["list", "--provider", "JP/COM/8900000000001"], "local governments' data"),
        (["revoke", "x", "--reason", "命令"], "'x' is not a consent's identifier (a UUID)"),
        (
            ["revoke", "4f5d3d0c-0000-4000-8000-000000000000", "--reason", "命令"],
            "no consent has the identifier 4f5d3d0c-0000-4000-8000-000000000000",
        ),
        (
            ["revoke", "4f5d3d0c-0000-4000-8000-000000000000", "--reason", " "],
            "the reason must be one line of 1 to 500 characters",
        ),
        (["revoke", "4f5d3d0c-0000-4000-8000-000000000000"], "Missing option '--reason'"),
    ],
)
def test_what_cannot_be_done_is_one_line(database: str, arguments: list[str], message: str) -> None:
    refused = run_kiban_in_process("mesh", "consent", *arguments, database_url=database)
    assert refused.returncode == 2
    assert refused.stderr.startswith("kiban: error: ")
    assert message in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
