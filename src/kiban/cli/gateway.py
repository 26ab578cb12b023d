"""``kiban gateway``: one organisation's gateway on the public service mesh.

``kiban gateway init`` sets a gateway up in its directory; ``kiban gateway --member M`` runs
it.  See docs/mesh.md, "Gateways".
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from kiban.cli.errors import CliError
from kiban.core.config import get_settings
from kiban.mesh.gateway.config import (
    MAINTENANCE_FILE,
    GatewaySetupError,
    initialise,
    load_gateway,
    load_settings,
)
from kiban.mesh.identifiers import InvalidMeshIdentifier, MemberId

app = typer.Typer(invoke_without_command=True)  # its help is in kiban.cli.COMMANDS

MemberOption = Annotated[
    str | None,
    typer.Option("--member", help="JP/{GOV|LG|PUB|COM}/{code}: whose gateway / 組織"),
]
DirectoryOption = Annotated[
    Path | None,
    typer.Option(
        "--dir",
        help="The gateway's directory (default: KIBAN_DATA_DIR/gateways/{class}-{code})",
        file_okay=False,
    ),
]
PortOption = Annotated[
    int | None,
    typer.Option("--port", min=0, max=65535, help="The consumer interface's port / 利用側ポート"),
]
MeshPortOption = Annotated[
    int | None,
    typer.Option(
        "--mesh-port", min=0, max=65535, help="The port other gateways call / 連携用ポート"
    ),
]


def _member(text: str | None) -> MemberId:
    if text is None:
        raise CliError("--member is required: the organisation whose gateway this is")
    try:
        return MemberId.parse(text)
    except InvalidMeshIdentifier as error:
        raise CliError(str(error)) from None


def _directory(directory: Path | None, member: MemberId) -> Path:
    if directory is not None:
        return directory
    return get_settings().data_dir / "gateways" / f"{member.member_class.value}-{member.code}"


@app.callback()
def run(
    context: typer.Context,
    member: MemberOption = None,
    directory: DirectoryOption = None,
    port: PortOption = None,
    mesh_port: MeshPortOption = None,
) -> None:
    """Run the gateway until SIGTERM or Ctrl-C / ゲートウェイを起動する."""
    if context.invoked_subcommand is not None:
        return
    parsed = _member(member)
    home = _directory(directory, parsed)
    try:
        gateway = load_gateway(home, parsed, port=port, mesh_port=mesh_port)
    except GatewaySetupError as error:
        raise CliError(str(error)) from None
    from kiban.mesh.gateway.server import run_gateway  # the web stack, only to run

    try:
        asyncio.run(run_gateway(gateway, lambda line: typer.echo(line)))
    except OSError as error:
        raise CliError(f"cannot start the gateway: {error.strerror or error}") from None


@app.command("init")
def init(
    member: MemberOption = None,
    registry: Annotated[
        str,
        typer.Option("--registry", help="The registry's URL, e.g. https://mesh.example.jp"),
    ] = "http://127.0.0.1:8000",
    root: Annotated[
        Path,
        typer.Option(
            "--root", help="The root CA to trust (the registry's /ca/root.pem) / ルート証明書"
        ),
    ] = Path("root.pem"),
    directory: DirectoryOption = None,
    port: PortOption = None,
    mesh_port: MeshPortOption = None,
) -> None:
    """Set up a gateway: its key, log key and settings / ゲートウェイを準備する."""
    parsed = _member(member)
    home = _directory(directory, parsed)
    try:
        public = initialise(
            home,
            parsed,
            registry_url=registry.rstrip("/"),
            root=root,
            port=8080 if port is None else port,
            mesh_port=5500 if mesh_port is None else mesh_port,
        )
    except GatewaySetupError as error:
        raise CliError(str(error)) from None
    typer.echo(
        f"{home}: gateway of {parsed} set up / 準備しました. Next: the registry operator runs "
        f"`kiban mesh member certificate {parsed} --public-key {public} --out "
        f"{home / 'gateway.pem'}`"
    )


@app.command("maintenance")
def maintenance(
    member: MemberOption = None,
    directory: DirectoryOption = None,
    reason: Annotated[
        str | None,
        typer.Option("--reason", help="Why, as callers will read it / 理由"),
    ] = None,
    off: Annotated[bool, typer.Option("--off", help="End maintenance / 終了する")] = False,
) -> None:
    """Put the gateway in maintenance, or take it out / メンテナンスの開始・終了.

    In maintenance the gateway refuses new exchanges with ``maintenance`` (503) and its
    health check says so; it takes effect within a second, without a restart."""
    parsed = _member(member)
    home = _directory(directory, parsed)
    try:
        load_settings(home)
    except GatewaySetupError as error:
        raise CliError(str(error)) from None
    flag = home / MAINTENANCE_FILE
    if off:
        flag.unlink(missing_ok=True)
        typer.echo(f"{parsed}: maintenance ended / メンテナンスを終了しました")
        return
    if reason is None or not reason.strip():
        raise CliError("--reason is required: callers are told why")
    flag.write_text(reason.strip() + "\n", encoding="utf-8")
    typer.echo(f"{parsed}: in maintenance / メンテナンス中: {reason.strip()}")
