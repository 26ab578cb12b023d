"""``kiban oidc …``: register relying parties and rotate the provider's signing keys."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from kiban.cli.context import cli_session
from kiban.cli.errors import CliError
from kiban.core.config import get_settings
from kiban.identity.oidc.clients import ClientInput, ClientRegistrationError, ClientService
from kiban.identity.oidc.keys import SigningKeys

app = typer.Typer(no_args_is_help=True)  # its help is in kiban.cli.COMMANDS
client_app = typer.Typer(help="Relying parties / 連携サービス", no_args_is_help=True)
keys_app = typer.Typer(help="ID token signing keys / ID トークン署名鍵", no_args_is_help=True)
app.add_typer(client_app, name="client")
app.add_typer(keys_app, name="keys")


def _read_jwks(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CliError(f"cannot read --jwks-file {path}: {error}") from None


@client_app.command("create")
def create_client(
    name: Annotated[str, typer.Option("--name", help="The service's name shown to people")],
    purpose: Annotated[str, typer.Option("--purpose", help="Why it asks for information")],
    redirect_uri: Annotated[
        list[str], typer.Option("--redirect-uri", help="An exact redirect URI (repeatable)")
    ],
    auth_method: Annotated[
        str, typer.Option("--auth-method", help="client_secret_basic or private_key_jwt")
    ],
    post_logout_redirect_uri: Annotated[
        list[str] | None,
        typer.Option("--post-logout-redirect-uri", help="Where to return after sign-out"),
    ] = None,
    jwks_file: Annotated[
        Path | None, typer.Option("--jwks-file", help="The client's public JWKS (JSON)")
    ] = None,
    jwks_uri: Annotated[
        str | None, typer.Option("--jwks-uri", help="Where the client publishes its JWKS")
    ] = None,
    scope: Annotated[
        list[str] | None,
        typer.Option("--scope", help="A scope it may request (repeatable; openid is implied)"),
    ] = None,
) -> None:
    """Register a relying party; a client secret is printed once and cannot be shown again."""
    data = ClientInput(
        name=name,
        purpose=purpose,
        redirect_uris=redirect_uri,
        auth_method=auth_method,
        post_logout_redirect_uris=post_logout_redirect_uri or [],
        scopes=[part for value in scope or [] for part in value.split()],
        jwks=_read_jwks(jwks_file),
        jwks_uri=jwks_uri,
    )
    try:
        with cli_session() as session:
            created = ClientService(session).create(data)
    except ClientRegistrationError as error:
        raise CliError(str(error)) from None
    client = created.client
    print(f"client {client.client_id} registered / 登録しました", file=sys.stderr)
    typer.echo(f"client_id={client.client_id}")
    if created.secret is not None:
        print(
            "keep the client secret now, it is not shown again / シークレットは再表示できません",
            file=sys.stderr,
        )
        typer.echo(f"client_secret={created.secret}")


@client_app.command("list")
def list_clients() -> None:
    """Print the relying parties (never their secrets)."""
    with cli_session() as session:
        clients = ClientService(session).list()
    typer.echo("client_id,name,auth_method,scope,status,redirect_uris")
    for client in clients:
        status = "disabled" if client.disabled_at else "active"
        typer.echo(
            f"{client.client_id},{client.name},{client.auth_method},{client.scope},{status},"
            + " ".join(client.redirect_uri_list)
        )


@client_app.command("disable")
def disable_client(
    client_id: Annotated[str, typer.Argument(metavar="CLIENT_ID")],
) -> None:
    """Disable a relying party: no new sign-ins or tokens / 連携を停止する."""
    try:
        with cli_session() as session:
            client = ClientService(session).disable(client_id)
    except ClientRegistrationError as error:
        raise CliError(str(error)) from None
    typer.echo(f"client {client.client_id} disabled / 停止しました")


@keys_app.command("rotate")
def rotate_keys() -> None:
    """Sign with a new key from now on; the old public key stays published for a day."""
    with cli_session() as session:
        key = SigningKeys(session, get_settings()).create()
    typer.echo(f"kid={key.kid}")


@keys_app.command("list")
def list_keys() -> None:
    """Print the signing keys: kid, algorithm, created, retired."""
    with cli_session() as session:
        keys = SigningKeys(session, get_settings()).all()
    typer.echo("kid,algorithm,created_at,retired_at")
    for key in keys:
        retired = key.retired_at.isoformat() if key.retired_at else ""
        typer.echo(f"{key.kid},{key.algorithm},{key.created_at.isoformat()},{retired}")
