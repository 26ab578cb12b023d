"""``kiban staff …`` and ``kiban business list`` through the real entry point; ``staff create`` once
in a process of its own, as an operator runs it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session

from kiban.core.tenancy import Tenant
from kiban.identity.credentials import verify_password
from kiban.identity.staff.models import StaffAccount
from kiban.tenants.service import TenantService
from kiban_command import run_kiban, run_kiban_in_process

TENANT = "133086"  # 奥多摩町: no other test uses it


@pytest.fixture
def tenant(engine: Engine) -> Iterator[str]:
    """Committed, since the command has a session of its own; removed after with its staff.

    The audit events stay: they are append-only, in the database too.
    """
    with Session(engine) as session:
        TenantService(session).enable(TENANT)
        session.commit()
    try:
        yield TENANT
    finally:
        with engine.begin() as connection:
            connection.execute(delete(StaffAccount).where(StaffAccount.tenant_code == TENANT))
            connection.execute(delete(Tenant).where(Tenant.code == TENANT))


def test_create_list_reset_and_disable(
    engine: Engine, database_url: str, tenant: str, tmp_path: Path
) -> None:
    created = run_kiban(
        "staff",
        "create",
        "--tenant",
        tenant,
        "--login",
        "Okutama.Admin",
        "--name",
        "奥多摩 太郎",
        "--role",
        "admin",
        "--role",
        "clerk",
        database_url=database_url,
        data_dir=tmp_path,
    )
    assert created.returncode == 0, created.stderr
    password = created.stdout.strip()
    assert len(password) >= 12
    assert "not shown again" in created.stderr
    with Session(engine) as session:
        account = session.query(StaffAccount).filter_by(tenant_code=tenant).one()
        assert account.login_id == "okutama.admin"
        assert account.roles == "admin clerk"
        assert account.password_must_change
        assert verify_password(account.password_hash, password)[0]

    listed = run_kiban_in_process("staff", "list", "--tenant", tenant, database_url=database_url)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[1].startswith("okutama.admin,admin clerk,setup_pending,")
    assert "奥多摩 太郎" not in listed.stdout  # no names in operator output

    password_file = tmp_path / "password"
    password_file.write_text("a chosen long passphrase\n", encoding="utf-8")
    reset = run_kiban_in_process(
        "staff",
        "reset",
        "--tenant",
        tenant,
        "okutama.admin",
        "--password-file",
        str(password_file),
        database_url=database_url,
    )
    assert reset.returncode == 0, reset.stderr
    disabled = run_kiban_in_process(
        "staff", "disable", "--tenant", tenant, "okutama.admin", database_url=database_url
    )
    assert disabled.returncode == 0, disabled.stderr
    listed = run_kiban_in_process("staff", "list", "--tenant", tenant, database_url=database_url)
    assert ",disabled," in listed.stdout

    business = run_kiban_in_process("business", "list", database_url=database_url)
    assert business.returncode == 0, business.stderr
    assert business.stdout.startswith("account_id,login_id,account_type")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--login", "ok.login", "--name", "x", "--role", "boss"], "A role is one of"),
        (["--login", "x", "--name", "x", "--role", "clerk"], "A login id is 3-64"),
        (["--login", "ok.login", "--name", "", "--role", "clerk"], "A name is 1-64"),
    ],
)
def test_bad_input_is_one_line(
    database_url: str, tenant: str, arguments: list[str], message: str
) -> None:
    result = run_kiban_in_process(
        "staff", "create", "--tenant", tenant, *arguments, database_url=database_url
    )
    assert result.returncode != 0
    assert result.stderr.startswith("kiban: error: ")
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_an_unknown_tenant_or_login_is_one_line(database_url: str, tenant: str) -> None:
    unknown_tenant = run_kiban_in_process(
        "staff", "list", "--tenant", "999999", database_url=database_url
    )
    assert unknown_tenant.returncode != 0
    assert unknown_tenant.stderr.startswith("kiban: error: ")
    unknown_login = run_kiban_in_process(
        "staff", "disable", "--tenant", tenant, "nobody", database_url=database_url
    )
    assert unknown_login.returncode != 0
    assert len(unknown_login.stderr.strip().splitlines()) == 1
