"""``kiban staff …``: an operator creates a tenant's staff accounts, lists, disables, resets them.

A generated initial password is printed once (stdout, for piping into a password manager);
``--password-file`` reads one instead, which need not be changed at first sign-in.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from kiban.cli.context import cli_session
from kiban.cli.errors import CliError
from kiban.core.errors import ProblemError
from kiban.identity.credentials import IssuedPassword
from kiban.identity.staff.models import StaffAccount
from kiban.identity.staff.service import StaffService

app = typer.Typer(no_args_is_help=True)  # its help is in kiban.cli.COMMANDS

TenantOption = Annotated[str, typer.Option("--tenant", help="全国地方公共団体コード")]
LoginArgument = Annotated[str, typer.Argument(metavar="LOGIN_ID", help="ログインID")]
PasswordFile = Annotated[
    Path | None,
    typer.Option("--password-file", help="Read the initial password from this file (first line)"),
]


def _read_password(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise CliError(f"cannot read {path}: {error.__class__.__name__}") from None
    if not lines:
        raise CliError(f"{path} is empty / パスワードファイルが空です")
    return lines[0]


def _failed(error: ProblemError) -> CliError:
    return CliError(error.detail or error.title)


def _print_password(issued: IssuedPassword[StaffAccount], generated: bool) -> None:
    account = issued.account
    if not generated:
        typer.echo(f"{account.login_id} ready / 登録しました")
        return
    print(
        f"{account.login_id}: one-time password below; it is not shown again"
        " / 初期パスワードは再表示できません",
        file=sys.stderr,
    )
    typer.echo(issued.password)


@app.command()
def create(
    tenant: TenantOption,
    login: Annotated[str, typer.Option("--login", help="ログインID")],
    name: Annotated[str, typer.Option("--name", help="氏名")],
    role: Annotated[
        list[str], typer.Option("--role", help="admin, clerk, supervisor or auditor; repeatable")
    ],
    password_file: PasswordFile = None,
) -> None:
    """Create a staff account / 職員アカウントを作成する."""
    password = _read_password(password_file)
    try:
        with cli_session() as session:
            issued = StaffService.for_enabled_tenant(session, tenant).create(
                login, name, role, password
            )
    except ProblemError as error:
        raise _failed(error) from None
    _print_password(issued, generated=password is None)


@app.command("list")
def list_staff(tenant: TenantOption) -> None:
    """Print the tenant's staff: login id, roles, status (never names or secrets)."""
    try:
        with cli_session() as session:
            accounts = StaffService.for_enabled_tenant(session, tenant).accounts()
    except ProblemError as error:
        raise _failed(error) from None
    typer.echo("login_id,roles,status,created_at")
    for account in accounts:
        created_at = account.created_at.isoformat()
        typer.echo(f"{account.login_id},{account.roles},{account.status},{created_at}")


@app.command()
def disable(tenant: TenantOption, login: LoginArgument) -> None:
    """Disable a staff account and end its sessions / 職員アカウントを無効にする."""
    try:
        with cli_session() as session:
            service = StaffService.for_enabled_tenant(session, tenant)
            account = service.disable(service.by_login_id(login).staff_id)
    except ProblemError as error:
        raise _failed(error) from None
    typer.echo(f"{account.login_id} disabled / 無効にしました")


@app.command()
def reset(tenant: TenantOption, login: LoginArgument, password_file: PasswordFile = None) -> None:
    """Issue a new one-time password; the authenticator app is set up again at sign-in."""
    password = _read_password(password_file)
    try:
        with cli_session() as session:
            service = StaffService.for_enabled_tenant(session, tenant)
            issued = service.reset(service.by_login_id(login).staff_id, password)
    except ProblemError as error:
        raise _failed(error) from None
    _print_password(issued, generated=password is None)
