"""``kiban business …``: business IDs, for operators: list them, disable and enable them."""

from __future__ import annotations

from typing import Annotated

import typer

from kiban.cli.context import cli_session
from kiban.cli.errors import CliError
from kiban.core.errors import ProblemError
from kiban.identity.business.models import DisabledReason
from kiban.identity.business.service import OPERATOR, BusinessService

app = typer.Typer(no_args_is_help=True)  # its help is in kiban.cli.COMMANDS

LoginArgument = Annotated[str, typer.Argument(metavar="LOGIN_ID", help="ログインID")]


@app.command("list")
def list_accounts() -> None:
    """Print the accounts: id, login id, type, corporate number, status (never names)."""
    with cli_session() as session:
        accounts = BusinessService(session).accounts()
    typer.echo(
        "account_id,login_id,account_type,corp_type,corporate_number,status,created_at,"
        "disabled_reason"
    )
    for account in accounts:
        typer.echo(
            f"{account.account_id},{account.login_id},{account.account_type},"
            f"{account.corp_type},{account.corporate_number or ''},{account.status},"
            f"{account.created_at.isoformat()},{account.disabled_reason or ''}"
        )


@app.command()
def disable(login: LoginArgument) -> None:
    """Disable an account and end its sessions / 事業者アカウントを無効にする."""
    try:
        with cli_session() as session:
            service = BusinessService(session)
            account = service.disable(
                service.by_login_id(login), DisabledReason.OPERATOR, actor=OPERATOR
            )
    except ProblemError as error:
        raise CliError(error.detail or error.title) from None
    typer.echo(f"{account.login_id} disabled / 無効にしました")


@app.command()
def enable(login: LoginArgument) -> None:
    """Enable a disabled account again / 事業者アカウントを再び有効にする."""
    try:
        with cli_session() as session:
            service = BusinessService(session)
            account = service.enable(service.by_login_id(login), actor=OPERATOR)
    except ProblemError as error:
        raise CliError(error.detail or error.title) from None
    typer.echo(f"{account.login_id} enabled / 有効にしました")
