"""What machine a benchmark ran on, for the figures in docs/benchmarks.md."""

from __future__ import annotations

import multiprocessing
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path


def _cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    return platform.processor() or "unknown"


def describe() -> str:
    """One line: CPU model, core count and Python version."""
    return f"{_cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def timed_in_processes(processes: int, share: Callable[[int, Callable[[], None]], None]) -> float:
    """Seconds that ``processes`` forked processes take to run ``share(index, ready)`` each,
    timed from the moment all have called ``ready()`` (after their warm-up) to the last end.

    As ``kiban serve --workers`` runs requests: each process must make its own engine.
    """
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(processes + 1)
    children = [
        context.Process(target=share, args=(index, barrier.wait)) for index in range(processes)
    ]
    for child in children:
        child.start()
    barrier.wait()
    started = time.perf_counter()
    for child in children:
        child.join()
        if child.exitcode != 0:
            raise RuntimeError(f"a measured process failed (exit code {child.exitcode})")
    return time.perf_counter() - started
