"""How long a process takes to load the address registry from its database.

This is what `kiban serve` and `kiban address normalize` do before the first
address: read every town with its municipality, then build the normaliser's index.

    .venv/bin/python bench/registry_load.py [--database-url URL] [--runs N]

The database must have been prepared with `kiban db upgrade` (default: the demo's
SQLite file, var/kiban.db).
"""

from __future__ import annotations

import argparse
import statistics
import time

from rich.console import Console
from rich.table import Table

from kiban.core.database import create_database_engine, session_factory
from kiban.registry.addresses.normalizer import AddressNormalizer
from kiban.registry.addresses.repository import TownRepository
from machine import describe


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="sqlite:///var/kiban.db")
    parser.add_argument("--runs", type=int, default=5)
    arguments = parser.parse_args()

    factory = session_factory(create_database_engine(arguments.database_url))
    reads: list[float] = []
    builds: list[float] = []
    towns = 0
    for _ in range(arguments.runs):
        started = time.perf_counter()
        with factory() as session:
            records = list(TownRepository(session).iter_postal_records())
        read = time.perf_counter()
        AddressNormalizer.from_records(records)
        reads.append(read - started)
        builds.append(time.perf_counter() - read)
        towns = len(records)

    table = Table(title=f"Registry load, {towns:,} towns, median of {arguments.runs} (wall clock)")
    table.add_column("step")
    table.add_column("seconds", justify="right")
    table.add_row("read towns and local governments", f"{statistics.median(reads):.2f}")
    table.add_row("build the normaliser index", f"{statistics.median(builds):.2f}")
    totals = [read + build for read, build in zip(reads, builds, strict=True)]
    table.add_row("total", f"{statistics.median(totals):.2f}")
    console = Console()
    console.print(table)
    console.print(f"{arguments.database_url.split(':')[0]}, {describe()}")


if __name__ == "__main__":
    main()
