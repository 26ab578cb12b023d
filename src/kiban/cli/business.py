"""``kiban business …``: business IDs, for operators."""

from __future__ import annotations

import typer

from kiban.cli.context import cli_session
from kiban.identity.business.service import BusinessService

app = typer.Typer(help="Business IDs / 事業者アカウント", no_args_is_help=True)


@app.command("list")
def list_accounts() -> None:
    """Print the accounts: id, login id, type, corporate number, status (never names)."""
    with cli_session() as session:
        accounts = BusinessService(session).accounts()
    typer.echo("account_id,login_id,account_type,corp_type,corporate_number,status,created_at")
    for account in accounts:
        typer.echo(
            f"{account.account_id},{account.login_id},{account.account_type},"
            f"{account.corp_type},{account.corporate_number or ''},{account.status},"
            f"{account.created_at.isoformat()}"
        )
