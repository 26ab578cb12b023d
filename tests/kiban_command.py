"""The real ``kiban`` command, run as a user runs it, for the command-line tests."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path


def run_kiban(
    *arguments: str,
    database_url: str | None = None,
    data_dir: Path | None = None,
    environment: Mapping[str, str] | None = None,
    stdin: str | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """``kiban ARGUMENTS`` in a new process; it never raises on a non-zero exit."""
    settings = {"KIBAN_DATABASE_URL": database_url} if database_url else {}
    if data_dir is not None:
        settings["KIBAN_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [sys.executable, "-m", "kiban", *arguments],
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env={**os.environ, "PYTHONUTF8": "1", **settings, **(environment or {})},
        timeout=timeout,
        check=False,
    )
