"""The ``kiban`` command: one entry point for every process role and admin task."""

from __future__ import annotations

import sys

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
    from kiban.cli import db, ids, localgov, serve

    app.add_typer(db.app, name="db")
    app.add_typer(ids.app, name="id")
    app.add_typer(localgov.app, name="localgov")
    app.command("serve")(serve.serve)


def main() -> None:
    """Run the CLI; a user error is one line on stderr and a non-zero exit, never a traceback."""
    _register_commands()
    try:
        app()
    except CliError as error:
        print(f"kiban: error: {error}", file=sys.stderr)
        sys.exit(error.exit_code)
