"""``kiban corp …``: the corporation registry (法人番号) from the command line."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.console import Console

from kiban.cli.context import cli_session
from kiban.cli.errors import CliError
from kiban.cli.progress import progress_bar
from kiban.core.errors import ProblemError
from kiban.core.identifiers import normalize_digits
from kiban.registry.corporations.repository import CorporationRepository
from kiban.registry.corporations.service import CorporationService

app = typer.Typer(no_args_is_help=True)  # its help is in kiban.cli.COMMANDS
console = Console(stderr=True)


@app.command()
def seed(
    municipalities: Annotated[
        str,
        typer.Option(
            "--municipalities",
            metavar="CODE,…|all",
            help="Comma-separated municipality codes, or `all`; companies are split evenly",
        ),
    ],
    count: Annotated[int, typer.Option("--count", help="How many companies in all")],
    seed_value: Annotated[
        int, typer.Option("--seed", help="The same seed gives the same corporations")
    ] = 1,
) -> None:
    """Generate synthetic corporations on real towns / 合成法人データを投入する.

    Each municipality is also registered as a 地方公共団体; every row is marked synthetic.
    """
    # Imported here: the generator brings in Faker, which `corp get` and `search` do not need.
    from kiban.registry.corporations.synthetic import SeedError, generate_corporations

    if count < 0:
        raise CliError("--count cannot be negative / 法人数は0以上です")
    try:
        with (
            cli_session() as session,
            progress_bar(console) as progress,
        ):
            codes = (
                CorporationRepository(session).municipality_codes()
                if municipalities.strip() == "all"
                else [code.strip() for code in municipalities.split(",") if code.strip()]
            )
            # Companies plus at most one row per municipality for the body itself.
            task = progress.add_task("法人を生成中 / generating", total=count + len(codes))
            written = generate_corporations(
                session,
                codes,
                count,
                seed_value,
                lambda rows: progress.update(task, advance=rows),
            )
    except SeedError as error:
        raise CliError(str(error)) from None
    console.print(f"{written:,}件の法人を登録しました / wrote {written:,} corporations")


@app.command()
def get(
    number: Annotated[
        str,
        typer.Argument(
            metavar="NUMBER", help="法人番号; full-width digits, spaces and hyphens are accepted"
        ),
    ],
) -> None:
    """Print one corporation as JSON / 法人番号で法人を表示する."""
    try:
        with cli_session() as session:
            corporation = CorporationService(session).get(normalize_digits(number))
    except ProblemError as problem:
        raise CliError(problem.detail or problem.title, exit_code=1) from None
    typer.echo(corporation.model_dump_json(indent=2))


@app.command()
def search(
    text: Annotated[
        str, typer.Argument(metavar="TEXT", help="Part of the name, or the kana start")
    ],
    area: Annotated[
        str | None,
        typer.Option(
            "--area", metavar="CODE", help="Municipality, ward, designated city or prefecture"
        ),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="At most this many")] = 100,
) -> None:
    """Print matching corporations, one JSON object a line, in kana order / 法人を検索する."""
    with cli_session() as session:
        total, corporations = CorporationService(session).search(text, area_code=area, limit=limit)
    for corporation in corporations:
        sys.stdout.write(json.dumps(corporation.model_dump(mode="json"), ensure_ascii=False) + "\n")
    if total > len(corporations):
        console.print(
            f"{len(corporations)} of {total} shown / {total}件中{len(corporations)}件を表示"
        )
