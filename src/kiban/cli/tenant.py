"""``kiban tenant …``: enable local governments as tenants and manage their API keys."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from kiban.cli.context import cli_session
from kiban.cli.errors import CliError
from kiban.tenants.service import TenantError, TenantService

app = typer.Typer(no_args_is_help=True)  # its help is in kiban.cli.COMMANDS
key_app = typer.Typer(help="API keys of a tenant / テナントのAPIキー", no_args_is_help=True)
app.add_typer(key_app, name="key")

CodeArgument = Annotated[str, typer.Argument(metavar="CODE", help="全国地方公共団体コード")]


@app.command()
def enable(code: CodeArgument) -> None:
    """Enable a municipality as a tenant / 市区町村をテナントとして有効化する."""
    try:
        with cli_session() as session:
            tenant, newly = TenantService(session).enable(code)
    except TenantError as error:
        raise CliError(str(error)) from None
    state = "enabled / 有効化しました" if newly else "already enabled / 有効化済みです"
    typer.echo(f"{tenant.code} {state}")


@app.command("list")
def list_tenants() -> None:
    """Print the tenants: code, name, enabled at, number of active API keys."""
    with cli_session() as session:
        summaries = TenantService(session).summaries()
    typer.echo("code,name,enabled_at,active_keys")
    for summary in summaries:
        typer.echo(
            f"{summary.code},{summary.name},{summary.enabled_at.isoformat()},{summary.active_keys}"
        )


@key_app.command("create")
def create_key(
    code: CodeArgument,
    name: Annotated[str, typer.Option("--name", help="What the key is for, e.g. the system")],
) -> None:
    """Create an API key; the token is printed once and cannot be shown again."""
    try:
        with cli_session() as session:
            issued = TenantService(session).create_key(code, name)
    except TenantError as error:
        raise CliError(str(error)) from None
    print(
        f"key {issued.key_id} created; keep this token now, it is not shown again"
        " / トークンは再表示できません",
        file=sys.stderr,
    )
    typer.echo(issued.token)


@key_app.command("revoke")
def revoke_key(
    code: CodeArgument,
    key_id: Annotated[str, typer.Argument(metavar="KEY_ID", help="The key id shown at creation")],
) -> None:
    """Revoke an API key at once / APIキーを失効させる."""
    try:
        with cli_session() as session:
            key = TenantService(session).revoke_key(code, key_id)
    except TenantError as error:
        raise CliError(str(error)) from None
    typer.echo(f"key {key.key_id} of {key.tenant_code} revoked / 失効しました")


@key_app.command("list")
def list_keys(code: CodeArgument) -> None:
    """Print a tenant's API keys (never their secrets)."""
    try:
        with cli_session() as session:
            keys = TenantService(session).keys(code)
    except TenantError as error:
        raise CliError(str(error)) from None
    typer.echo("key_id,name,created_at,revoked_at")
    for key in keys:
        revoked = key.revoked_at.isoformat() if key.revoked_at else ""
        typer.echo(f"{key.key_id},{key.name},{key.created_at.isoformat()},{revoked}")
