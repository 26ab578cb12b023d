"""The ``kiban`` command: one entry point for every process role and admin task."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NoReturn

import typer

from kiban.cli.errors import CliError


@dataclass(frozen=True)
class Command:
    """A top-level command, listed by ``kiban --help`` without importing its module."""

    module: str
    help: str
    # A single command: its function in ``module``; otherwise the module's ``app`` group.
    function: str | None = None


# Only the command named on the command line is imported: together the modules pull in the
# web framework, the migrations, cryptography and the synthetic data generators, which cost
# every run more than a second.  The help texts live here, so that the list needs no imports.
COMMANDS: dict[str, Command] = {
    "seed": Command(
        "kiban.cli.seed",
        "Enable tenants and fill them with synthetic residents / 合成住民データを投入する.",
        function="seed",
    ),
    "serve": Command(
        "kiban.cli.serve", "Serve the API and the pages / API と画面を提供する.", function="serve"
    ),
    "address": Command("kiban.cli.address", "Addresses / 住所"),
    "business": Command("kiban.cli.business", "Business IDs / 事業者アカウント"),
    "ca": Command("kiban.cli.ca", "Certificate authority / 認証局"),
    "card": Command("kiban.cli.card", "Virtual cards / 仮想カード"),
    "corp": Command("kiban.cli.corporations", "Corporations / 法人番号"),
    "db": Command("kiban.cli.db", "Database schema and reference data / データベース"),
    "gateway": Command(
        "kiban.cli.gateway", "A member's gateway on the mesh / メッシュのゲートウェイ"
    ),
    "id": Command("kiban.cli.ids", "Validate identifiers / 識別子の検証"),
    "identity": Command("kiban.cli.identity", "Identity upkeep / 本人確認基盤の保守"),
    "localgov": Command("kiban.cli.localgov", "Local governments / 地方公共団体"),
    "mesh": Command("kiban.cli.mesh", "Public service mesh registry / 公共サービスメッシュの登録"),
    "oidc": Command("kiban.cli.oidc", "OpenID Connect provider / OpenID Connect プロバイダ"),
    "staff": Command("kiban.cli.staff", "Staff accounts of a tenant / 職員アカウント"),
    "tenant": Command("kiban.cli.tenant", "Tenants and their API keys / テナントとAPIキー"),
}


def _listed_only() -> None:
    """Stands in for a command that was not named, so that it is listed and never run."""


def _app(arguments: Sequence[str]) -> typer.Typer:
    """The ``kiban`` command with the one command ``arguments`` name loaded, the rest listed.

    The command is the first argument that is not an option: ``kiban`` itself takes no option
    with a value.  A name that is no command loads nothing and click reports it as usual.
    """
    invoked = next((argument for argument in arguments if not argument.startswith("-")), None)
    app = typer.Typer(
        name="kiban",
        help="kiban — 国・地方デジタル共通基盤 (National–Local Digital Common Infrastructure)",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )
    for name, command in COMMANDS.items():
        if name != invoked:
            app.command(name, help=command.help)(_listed_only)
            continue
        module = importlib.import_module(command.module)
        if command.function is None:
            app.add_typer(module.app, name=name, help=command.help)
        else:
            app.command(name, help=command.help)(getattr(module, command.function))
    return app


def main() -> None:
    """Run the CLI; a user error is one line on stderr and a non-zero exit, never a traceback."""
    app = _app(sys.argv[1:])
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
    except ValueError as error:
        # Imported only now: the settings module is not needed to list the commands.
        from kiban.core.config import InvalidSettings

        if not isinstance(error, InvalidSettings):
            raise
        _fail(f"invalid setting {error}", 2)
    sys.exit(exit_code if isinstance(exit_code, int) else 0)


def _fail(message: str, exit_code: int) -> NoReturn:
    first_line = message.strip().splitlines()[0] if message.strip() else "failed"
    print(f"kiban: error: {first_line}", file=sys.stderr)
    sys.exit(exit_code)
