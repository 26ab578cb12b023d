"""``kiban serve`` in its own processes on a free port, for the benchmarks over HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx2

from kiban.core.config import Settings
from kiban.core.network import tcp_listener


@contextmanager
def kiban_serve(settings: Settings, workers: int) -> Iterator[str]:
    """The server's URL, which is also its public URL, while the block runs.

    It trusts ``X-Forwarded-For`` from 127.0.0.1, as behind a local proxy, so that a
    benchmark can send each phone's requests from an address of its own.
    """
    with tcp_listener("127.0.0.1", 0) as probe:
        port = int(probe.getsockname()[1])
    url = f"http://127.0.0.1:{port}"
    environment = {
        **os.environ,
        "KIBAN_DATABASE_URL": settings.database_url,
        "KIBAN_SECRET_KEY": settings.secret_key or "",
        "KIBAN_PUBLIC_URL": url,
        "KIBAN_DATA_DIR": str(settings.data_dir),
        "KIBAN_SECURE_COOKIES": "false",
        "KIBAN_PRELOAD_REGISTRY": "false",
        "KIBAN_LOG_LEVEL": "warning",
        "KIBAN_FORWARDED_ALLOW_IPS": "127.0.0.1",
        "KIBAN_OIDC_TOKEN_LIMIT_PER_CLIENT": str(settings.oidc_token_limit_per_client),
        "KIBAN_OIDC_TOKEN_LIMIT_PER_IP": str(settings.oidc_token_limit_per_ip),
    }
    command = [sys.executable, "-m", "kiban", "serve", "--port", str(port)]
    process = subprocess.Popen([*command, "--workers", str(workers)], env=environment)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx2.get(url + "/healthz", timeout=1)
                break
            except httpx2.HTTPError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("kiban serve did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
