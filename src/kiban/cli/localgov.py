"""``kiban localgov …``: the local-government registry from the command line."""

from __future__ import annotations

import csv
import json
import sys
from enum import StrEnum
from typing import Annotated

import typer

from kiban.cli.context import cli_session
from kiban.registry.localgov.repository import LocalGovernmentRepository
from kiban.registry.localgov.schemas import LocalGovernmentOut

app = typer.Typer(no_args_is_help=True)  # its help is in kiban.cli.COMMANDS

CSV_COLUMNS = ("code", "name", "kana", "kind", "prefecture_code", "parent_code")


class OutputFormat(StrEnum):
    CSV = "csv"
    NDJSON = "ndjson"


@app.command("list")
def list_bodies(
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="csv or ndjson")
    ] = OutputFormat.CSV,
    query: Annotated[
        str | None, typer.Option("--query", "-q", help="Name, reading or code prefix")
    ] = None,
) -> None:
    """Print every prefecture, municipality and ward."""
    with cli_session() as session:
        _, bodies = LocalGovernmentRepository(session).search(query=query)
        rows = [LocalGovernmentOut.model_validate(body).model_dump(mode="json") for body in bodies]
    if output_format is OutputFormat.CSV:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        writer.writerows([row[column] or "" for column in CSV_COLUMNS] for row in rows)
    else:
        for row in rows:
            sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
