"""What machine a benchmark ran on, for the figures in docs/benchmarks.md."""

from __future__ import annotations

import os
import platform
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
