"""The ``kiban`` command: one entry point for every process role and admin task."""

from __future__ import annotations

import sys
from typing import NoReturn

import typer

from kiban.cli.errors import CliError

app = typer.Typer(
    name="kiban",
    help="kiban — 国・地方デジタル共通基盤 (National–Local Digital Common Infrastructure)",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _register_commands() -> None:
    # Imported here so that `kiban --help` stays fast and each domain owns its commands.
    from kiban.cli import (
        address,
        business,
        ca,
        card,
        corporations,
        db,
        identity,
        ids,
        localgov,
        oidc,
        seed,
        serve,
        staff,
        tenant,
    )

    app.add_typer(address.app, name="address")
    app.add_typer(business.app, name="business")
    app.add_typer(ca.app, name="ca")
    app.add_typer(card.app, name="card")
    app.add_typer(corporations.app, name="corp")
    app.add_typer(db.app, name="db")
    app.add_typer(ids.app, name="id")
    app.add_typer(identity.app, name="identity")
    app.add_typer(localgov.app, name="localgov")
    app.add_typer(oidc.app, name="oidc")
    app.add_typer(staff.app, name="staff")
    app.add_typer(tenant.app, name="tenant")
    app.command("seed")(seed.seed)
    app.command("serve")(serve.serve)


def main() -> None:
    """Run the CLI; a user error is one line on stderr and a non-zero exit, never a traceback."""
    _register_commands()
    try:
        # Outside standalone mode click raises usage errors instead of printing a help box.
        exit_code = app(standalone_mode=False)
    except CliError as error:
        _fail(str(error), error.exit_code)
    except typer.Abort:
        _fail("aborted", 130)
    except typer.TyperException as error:
        # Usage errors: a missing argument, an unknown command or option, a bad value.
        format_message = getattr(error, "format_message", None)
        message = format_message() if callable(format_message) else str(error)
        _fail(message, getattr(error, "exit_code", 2))
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    sys.exit(exit_code if isinstance(exit_code, int) else 0)


def _fail(message: str, exit_code: int) -> NoReturn:
    first_line = message.strip().splitlines()[0] if message.strip() else "failed"
    print(f"kiban: error: {first_line}", file=sys.stderr)
    sys.exit(exit_code)
