"""``kiban serve``: the API and pages."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from kiban.core.config import get_settings


def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (default KIBAN_HOST)")] = None,
    port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="Port (default KIBAN_PORT)")
    ] = None,
) -> None:
    """Serve the API and the pages / API と画面を提供する."""
    settings = get_settings()
    host = host or settings.host
    port = port or settings.port
    print(f"kiban is serving on http://{host}:{port}", flush=True)
    uvicorn.run(
        "kiban.app:create_app",
        factory=True,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
    )
