"""How fast ``kiban seed`` writes a synthetic population, into SQLite or PostgreSQL.

Builds a fresh database (migrations and the registry, not timed), then times
``seed_population`` for N residents split evenly over the given municipalities, commit
included.  Without ``--database-url`` it writes a new SQLite file in a temporary folder.

    .venv/bin/python bench/seed_population.py [--residents N] [--municipalities CODES|all]
        [--database-url postgresql+psycopg://127.0.0.1:5432/kiban_bench]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from rich.console import Console
from sqlalchemy.orm import Session

from kiban.cli.progress import progress_bar
from kiban.core import migrations
from kiban.core.crypto import PersonalNumberHasher
from kiban.core.database import create_database_engine
from kiban.registry.loader import load_postal_registry
from kiban.residents.synthetic import all_municipality_codes, seed_population
from machine import describe


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=1_000_000)
    parser.add_argument("--municipalities", default="all", help="comma-separated codes or all")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", help="an empty database; a new SQLite file if omitted")
    arguments = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="kiban-seed-bench-") as folder:
        url = arguments.database_url or f"sqlite:///{Path(folder) / 'kiban.db'}"
        engine = create_database_engine(url)
        console = Console(stderr=True)
        with console.status("migrating and loading the registry (not timed)…"):
            migrations.upgrade(engine)
            with Session(engine) as session:
                load_postal_registry(session)
                session.commit()
        # A fixed key: the benchmark must not write a key file anywhere.
        hasher = PersonalNumberHasher(b"benchmark key, not a secret")
        with (
            Session(engine) as session,
            progress_bar(console) as progress,
        ):
            codes = (
                all_municipality_codes(session)
                if arguments.municipalities == "all"
                else arguments.municipalities.split(",")
            )
            task = progress.add_task("seeding", total=arguments.residents)
            started = time.perf_counter()
            result = seed_population(
                session,
                codes,
                arguments.residents,
                arguments.seed,
                hasher,
                lambda count: progress.update(task, advance=count),
            )
            session.commit()
            elapsed = time.perf_counter() - started
        engine.dispose()

    print(f"database: {engine.dialect.name}")
    print(f"machine: {describe()}")
    print(
        f"residents: {result.residents:,} in {result.households:,} households"
        f" over {len(result.tenants):,} tenants"
    )
    print(f"total: {elapsed:.1f} s, {result.residents / elapsed:,.0f} residents/s")


if __name__ == "__main__":
    main()
