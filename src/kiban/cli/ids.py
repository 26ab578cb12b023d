"""``kiban id …``: check identifiers from the command line."""

from __future__ import annotations

from typing import Annotated

import typer

from kiban.cli.errors import CliError
from kiban.core.identifiers import VALIDATORS, IdentifierKind, InvalidIdentifier, normalize

app = typer.Typer(no_args_is_help=True)  # its help is in kiban.cli.COMMANDS

_KIND_NAMES = ", ".join(kind.value for kind in IdentifierKind)


@app.command()
def validate(
    # A plain string rather than a typer choice, so that an unknown kind is a one-line error.
    kind: Annotated[
        str, typer.Argument(metavar="KIND", help=f"Kind of identifier: {_KIND_NAMES}.")
    ],
    value: Annotated[
        str,
        typer.Argument(
            metavar="VALUE",
            help="The identifier; full-width digits, spaces and hyphens are accepted.",
        ),
    ],
) -> None:
    """Check an identifier's format and check digit / 識別子の形式と検査用数字を確認する."""
    try:
        identifier_kind = IdentifierKind(kind)
    except ValueError:
        raise CliError(
            f"unknown identifier kind {kind!r}; expected one of: {_KIND_NAMES}"
        ) from None
    try:
        VALIDATORS[identifier_kind](normalize(identifier_kind, value))
    except InvalidIdentifier as invalid:
        raise CliError(str(invalid), exit_code=1) from None
    typer.echo("valid")
