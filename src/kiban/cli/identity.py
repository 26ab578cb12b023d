"""``kiban identity …``: upkeep of the identity layer's own records."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer

from kiban.cli.context import cli_session
from kiban.identity.purge import DEFAULT_MARGIN, purge_expired

app = typer.Typer(no_args_is_help=True)  # its help is in kiban.cli.COMMANDS

# Ten years: beyond it nothing is left to purge, and the date arithmetic would overflow.
MAX_HOURS = 24 * 366 * 10


@app.command()
def purge(
    older_than: Annotated[
        int,
        typer.Option(
            "--older-than",
            metavar="HOURS",
            min=0,
            max=MAX_HOURS,
            help="Only rows whose expiry passed more than HOURS ago",
        ),
    ] = DEFAULT_MARGIN // timedelta(hours=1),
) -> None:
    """Delete expired card sign-in requests, OIDC codes, tokens, grants and assertion jti.

    期限切れの記録を削除する（監査記録は削除しない）.  Run it daily.
    """
    with cli_session() as session:
        counts = purge_expired(session, margin=timedelta(hours=older_than))
    for name, count in counts.items():
        typer.echo(f"{name}: {count} deleted")
