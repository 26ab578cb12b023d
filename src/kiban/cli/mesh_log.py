"""``kiban mesh log …``: verify, archive and prune a gateway's message log.

They work on the gateway's database (``--database-url``), not the platform's: a member's
operator runs them where the gateway runs, and an auditor on a copy of its database or on
its archives.  ``verify`` and ``verify-archive`` exit 1 when they find anything, with one
line per finding.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from cryptography import x509
from rich.console import Console
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from kiban.cli.errors import CliError
from kiban.cli.progress import progress_bar
from kiban.core.database import create_database_engine
from kiban.mesh.gateway.database import gateway_revision
from kiban.mesh.gateway.log import (
    ArchiveError,
    LogReport,
    archive,
    prune,
    verify_archive,
    verify_log,
)

app = typer.Typer(no_args_is_help=True, help="Message log / メッセージログ")
console = Console(stderr=True)

DatabaseOption = Annotated[
    str,
    typer.Option(
        "--database-url",
        help="The gateway's database, e.g. sqlite:///gateway/gateway.sqlite3",
    ),
]
RootOption = Annotated[
    Path | None,
    typer.Option(
        "--root",
        help="The mesh's root CA (PEM): checkpoints must be signed by a gateway under it",
    ),
]
ArchiveArgument = Annotated[Path, typer.Argument(metavar="FILE", help="An archive (.jsonl.gz)")]


@contextmanager
def _gateway_database(url: str) -> Iterator[Engine]:
    """The existing gateway database at ``url``; any database problem is one line."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise CliError(f"not a database URL: {url}") from None
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").is_file():
        raise CliError(f"{parsed.database}: no such database / データベースがありません")
    engine = create_database_engine(url)
    try:
        if gateway_revision(engine) is None:
            raise CliError(
                "not a gateway database: it has no message log"
                " / ゲートウェイのデータベースではありません"
            )
        yield engine
    except SQLAlchemyError as error:
        orig = getattr(error, "orig", None) or error
        raise CliError(f"database error: {orig}".splitlines()[0]) from None
    finally:
        engine.dispose()


def _root(path: Path | None) -> x509.Certificate | None:
    if path is None:
        return None
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except OSError as error:
        raise CliError(f"cannot read {path}: {error.strerror}") from None
    except ValueError:
        raise CliError(f"{path} is not a PEM certificate") from None


def _checked(work: Callable[[Callable[[int, int], None]], LogReport], what: str) -> None:
    """Run a verification with a progress bar; print its findings and summary."""
    with progress_bar(console) as progress:
        task = progress.add_task(what, total=None)

        def advance(done: int, expected: int) -> None:
            progress.update(task, completed=done, total=expected)

        try:
            report = work(advance)
        except ArchiveError as error:
            raise CliError(str(error)) from None
    for finding in report.findings:
        typer.echo(str(finding))
    typer.echo(report.summary())
    if not report.intact:
        raise typer.Exit(1)


@app.command("verify")
def verify(database_url: DatabaseOption, root: RootOption = None) -> None:
    """Check that no record was changed, deleted, inserted or moved / 改ざんを検証する."""
    trusted = _root(root)
    with _gateway_database(database_url) as engine:
        _checked(
            lambda advance: verify_log(engine, root=trusted, progress=advance),
            "検証中 / verifying",
        )


@app.command("verify-archive")
def verify_archive_command(archive_file: ArchiveArgument, root: RootOption = None) -> None:
    """Check an archive on its own / アーカイブを検証する."""
    trusted = _root(root)
    _checked(
        lambda advance: verify_archive(archive_file, root=trusted, progress=advance),
        "検証中 / verifying",
    )


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CliError(f"--before: not an ISO 8601 date or time: {text}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@app.command("archive")
def archive_command(
    database_url: DatabaseOption,
    before: Annotated[
        str,
        typer.Option(
            "--before",
            metavar="ISO-DATE",
            help="Archive records finished before this (UTC unless it has an offset,"
            " e.g. 2026-04-01T00:00+09:00)",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="The archive to write (.jsonl.gz)")],
) -> None:
    """Write the oldest records, up to a checkpoint, to a file / 古い記録をアーカイブする."""
    moment = _moment(before)
    with _gateway_database(database_url) as engine:
        try:
            written = archive(engine, out, before=moment)
        except ArchiveError as error:
            raise CliError(str(error)) from None
    typer.echo(
        f"records {written.first}–{written.last} ({written.records}) archived to {out}"
        " / アーカイブしました"
    )


@app.command("prune")
def prune_command(
    database_url: DatabaseOption,
    archive_file: Annotated[
        Path, typer.Option("--archive", help="A verified archive of the oldest records")
    ],
    root: RootOption = None,
) -> None:
    """Remove archived records from the database / アーカイブ済みの記録を削除する."""
    trusted = _root(root)
    with _gateway_database(database_url) as engine:
        try:
            removed = prune(engine, archive_file, root=trusted)
        except ArchiveError as error:
            raise CliError(str(error)) from None
    typer.echo(f"{removed} records removed; they are in {archive_file} / 削除しました")
