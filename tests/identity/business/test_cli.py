"""``kiban business disable`` / ``enable`` through the real entry point, on a committed database;
``disable`` in a process of its own, as an operator runs it."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import Response
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from identity.business.conftest import PASSWORD
from kiban.core.audit import AuditEvent
from kiban.core.config import Settings
from kiban.core.sessions import AuthSession, SubjectKind, start_session
from kiban.identity.business.models import BusinessAccount
from kiban.identity.business.service import BusinessService
from kiban_command import run_kiban, run_kiban_in_process


@pytest.fixture(scope="module")
def database(private_engine: Engine) -> str:
    return private_engine.url.render_as_string(hide_password=False)


def _account_with_a_session(engine: Engine, login_id: str, tmp_path: Path) -> tuple[str, str]:
    """A committed entry account signed in in one browser: (account id, session id)."""
    with Session(engine) as session:
        account = BusinessService(session).register_entry(
            login_id, PASSWORD, "佐藤 次郎", "sole_proprietor", None
        )
        auth_session = start_session(
            session,
            Response(),
            kind=SubjectKind.BUSINESS,
            subject_id=account.account_id,
            acr="aal2",
            amr=("pwd", "otp"),
            settings=Settings(database_url=str(engine.url), data_dir=tmp_path),
        )
        session.commit()
        return account.account_id, auth_session.id


def test_an_operator_disables_and_enables_an_account(
    private_engine: Engine, database: str, tmp_path: Path
) -> None:
    account_id, session_id = _account_with_a_session(private_engine, "sato@example.jp", tmp_path)

    disabled = run_kiban("business", "disable", "Sato@Example.jp", database_url=database)
    assert disabled.returncode == 0, disabled.stderr
    assert disabled.stdout.strip() == "sato@example.jp disabled / 無効にしました"
    listed = run_kiban_in_process("business", "list", database_url=database)
    assert f"{account_id},sato@example.jp,entry," in listed.stdout
    assert ",disabled," in listed.stdout
    assert listed.stdout.rstrip().endswith(",operator")
    assert "佐藤" not in listed.stdout  # no names in operator output
    with Session(private_engine) as session:
        auth_session = session.get(AuthSession, session_id)
        assert auth_session is not None
        assert auth_session.ended_at is not None

    enabled = run_kiban_in_process("business", "enable", "sato@example.jp", database_url=database)
    assert enabled.returncode == 0, enabled.stderr
    with Session(private_engine) as session:
        account = session.get(BusinessAccount, account_id)
        assert account is not None
        assert (account.disabled_at, account.disabled_reason) == (None, None)
        actions = session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.subject == f"business:{account_id}", AuditEvent.actor == "operator")
            .order_by(AuditEvent.id)
        )
        assert list(actions) == ["business.disable", "business.enable"]


@pytest.mark.parametrize(
    ("command", "login_id", "message"),
    [
        ("disable", "nobody@example.jp", "No business account has the login id"),
        ("enable", "x", "A login id is 3-64"),
    ],
)
def test_an_unknown_or_malformed_login_id_is_one_line(
    database: str, command: str, login_id: str, message: str
) -> None:
    result = run_kiban_in_process("business", command, login_id, database_url=database)
    assert result.returncode != 0
    assert result.stderr.startswith("kiban: error: ")
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
