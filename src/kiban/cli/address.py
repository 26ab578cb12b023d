"""``kiban address …``: normalise addresses from a file or standard input."""

from __future__ import annotations

import csv
import dataclasses
import json
import sys
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated, BinaryIO

import typer
from rich.console import Console
from sqlalchemy import func, select

from kiban.cli.context import cli_session
from kiban.cli.errors import CliError
from kiban.cli.progress import progress_bar
from kiban.registry.addresses.models import Town
from kiban.registry.addresses.normalizer import AddressNormalizer, NormalizedAddress
from kiban.registry.addresses.service import build_normalizer

app = typer.Typer(no_args_is_help=True)  # its help is in kiban.cli.COMMANDS

FIELDS = tuple(field.name for field in dataclasses.fields(NormalizedAddress))


class OutputFormat(StrEnum):
    NDJSON = "ndjson"
    CSV = "csv"


def _load_normalizer() -> AddressNormalizer:
    with cli_session() as session:
        if not session.scalar(select(func.count()).select_from(Town)):
            raise CliError("the address registry is empty; run `kiban db upgrade` first")
        return build_normalizer(session)


def _lines(stream: BinaryIO, source: str) -> Iterator[tuple[str, int]]:
    """Decoded lines with their size in bytes; bytes that are not UTF-8 name their line."""
    for number, raw in enumerate(stream, start=1):
        try:
            text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as error:
            raise CliError(f"{source}: line {number} is not valid UTF-8") from error
        yield text.rstrip("\r\n"), len(raw)


def _write(output_format: OutputFormat, results: Iterator[NormalizedAddress]) -> None:
    if output_format is OutputFormat.CSV:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(FIELDS)
        for result in results:
            writer.writerow("" if value is None else value for value in dataclasses.astuple(result))
    else:
        for result in results:
            sys.stdout.write(json.dumps(dataclasses.asdict(result), ensure_ascii=False) + "\n")


@app.command()
def normalize(
    file: Annotated[
        Path | None,
        typer.Argument(help="A UTF-8 file with one address a line; standard input when omitted"),
    ] = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="ndjson or csv")
    ] = OutputFormat.NDJSON,
) -> None:
    """Normalise addresses, one a line: prefecture, city, town (町字), rest, level 0–3."""
    if file is not None and not file.is_file():
        raise CliError(f"{file}: no such file")
    normalizer = _load_normalizer()
    if file is None:
        lines = _lines(sys.stdin.buffer, "stdin")
        _write(output_format, (normalizer.normalize(line) for line, _ in lines))
        return
    with (
        file.open("rb") as stream,
        progress_bar(Console(stderr=True), counts_items=False) as progress,
    ):
        task = progress.add_task("正規化中 / normalising", total=file.stat().st_size)

        def results() -> Iterator[NormalizedAddress]:
            for line, size in _lines(stream, str(file)):
                yield normalizer.normalize(line)
                progress.update(task, advance=size)

        _write(output_format, results())
