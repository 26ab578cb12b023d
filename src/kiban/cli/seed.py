"""``kiban seed``: a synthetic population of residents for demos and load tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from sqlalchemy.orm import Session

from kiban.cli.context import cli_session
from kiban.cli.errors import CliError
from kiban.cli.progress import progress_bar
from kiban.core.config import get_settings
from kiban.core.crypto import PersonalNumberHasher, personal_number_hasher
from kiban.demo.relying_party import register_demo_client
from kiban.identity.card.demo import issue_demo_cards
from kiban.identity.staff.demo import seed_demo_staff
from kiban.mesh.providers.synthetic import seed_incomes
from kiban.registry.corporations.repository import CorporationRepository
from kiban.registry.corporations.synthetic import SeedError as CorporationSeedError
from kiban.registry.corporations.synthetic import generate_corporations
from kiban.residents.synthetic import (
    DEMO_MUNICIPALITIES,
    DEMO_RESIDENTS,
    DEMO_SEED,
    SeedError,
    SeedResult,
    all_municipality_codes,
    seed_demo,
    seed_population,
)
from kiban.tenants.service import TenantError

console = Console(stderr=True)
DEMO_CORPORATIONS = 300


def seed(
    municipalities: Annotated[
        str | None,
        typer.Option(
            "--municipalities",
            metavar="CODE,…|all",
            help="Comma-separated municipality codes, or `all`; residents are split evenly",
        ),
    ] = None,
    residents: Annotated[
        int | None, typer.Option("--residents", help="How many residents in all")
    ] = None,
    seed_value: Annotated[
        int, typer.Option("--seed", help="The same seed gives the same residents")
    ] = 1,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            help=f"The demo: {DEMO_RESIDENTS:,} residents and {DEMO_CORPORATIONS} corporations"
            " in 千代田区, 八王子市, 大阪市",
        ),
    ] = False,
) -> None:
    # Its help, shown by `kiban seed --help` too, is in kiban.cli.COMMANDS.
    if demo == (municipalities is not None):
        raise CliError("give either --demo or --municipalities / どちらか一方を指定してください")
    if demo and residents is not None:
        raise CliError("--demo seeds a fixed number of residents / --residents は指定できません")
    if demo:
        _seed(_seed_demo, DEMO_RESIDENTS)
        return
    if residents is None:
        raise CliError("--residents is required with --municipalities / 住民数を指定してください")
    if residents <= 0:
        raise CliError("--residents must be at least 1 / 住民数は1以上です")
    wanted = municipalities or ""

    def seed_municipalities(session: Session, advance: Callable[[int], None]) -> SeedResult:
        codes = (
            all_municipality_codes(session)
            if wanted.strip() == "all"
            else [code.strip() for code in wanted.split(",") if code.strip()]
        )
        return seed_population(session, codes, residents, seed_value, hasher(), advance)

    _seed(seed_municipalities, residents)


def _seed_demo(session: Session, advance: Callable[[int], None]) -> SeedResult:
    """The demo's residents and, in the same municipalities, its synthetic corporations,
    virtual cards for the demo wallet, the sample relying party and, while the demo is on,
    demo staff."""
    settings = get_settings()
    result = seed_demo(session, hasher(), advance)
    codes = list(DEMO_MUNICIPALITIES)
    if not CorporationRepository(session).seeded_municipalities(codes):
        generate_corporations(session, codes, DEMO_CORPORATIONS, DEMO_SEED)
    cards = issue_demo_cards(session, settings)
    register_demo_client(session, settings)
    if staff := seed_demo_staff(session, settings):
        done = (
            "ready at /demo/staff / 準備しました"
            if settings.demo_wallet
            else "disabled, as the demo is off / デモが無効のため無効にしました"
        )
        console.print(f"{staff} demo staff accounts {done}", soft_wrap=True)
    if cards:
        console.print(
            f"issued {cards} demo wallet cards / デモ用カードを{cards}枚発行しました",
            soft_wrap=True,
        )
    return result


def hasher() -> PersonalNumberHasher:
    return personal_number_hasher(get_settings())


def _seed(run: Callable[[Session, Callable[[int], None]], SeedResult], total: int) -> None:
    try:
        with cli_session() as session, progress_bar(console) as progress:
            task = progress.add_task("住民を生成中 / seeding residents", total=total)
            result = run(session, lambda count: progress.update(task, advance=count))
            assessments = _seed_incomes(session, result, progress)
    except (SeedError, CorporationSeedError, TenantError) as error:
        raise CliError(str(error)) from None
    _report(result)
    _report_incomes(assessments)


def _report(result: SeedResult) -> None:
    if result.already_seeded:
        console.print(
            "demo already seeded; nothing to do / デモデータは投入済みです", soft_wrap=True
        )
        return
    console.print(
        f"seeded {result.residents:,} residents in {result.households:,} households"
        f" over {len(result.tenants):,} tenants / {result.residents:,}人を投入しました",
        soft_wrap=True,
    )


def _seed_incomes(session: Session, result: SeedResult, progress: Progress) -> int:
    """The seeded tenants' synthetic tax ledger, behind the income-certificate service."""
    task = progress.add_task("課税情報を生成中 / assessing incomes", total=None)
    return seed_incomes(session, result.tenants, lambda count: progress.update(task, advance=count))


def _report_incomes(assessments: int) -> None:
    if assessments:
        console.print(
            f"assessed {assessments:,} incomes and resident taxes"
            f" / 課税情報を{assessments:,}件生成しました",
            soft_wrap=True,
        )
