"""``kiban serve``: the API and pages, in one process or several sharing one socket."""

from __future__ import annotations

import multiprocessing
import signal
import threading
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from typing import Annotated

import typer
import uvicorn

from kiban.cli.errors import CliError
from kiban.core.config import Settings, get_settings
from kiban.core.network import tcp_listener

APP = "kiban.app:create_app"


def _config(settings: Settings) -> uvicorn.Config:
    return uvicorn.Config(
        APP,
        factory=True,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        log_level="warning",
        access_log=False,
    )


def _serve_one_of_several(host: str, port: int) -> None:
    """One of ``kiban serve --workers N``'s processes, with a socket of its own."""
    listener = tcp_listener(host, port, shared_port=True)
    uvicorn.Server(_config(get_settings())).run(sockets=[listener])


def _supervise(host: str, port: int, workers: int) -> None:
    """Run ``workers`` server processes until asked to stop; replace any that dies.

    Not uvicorn's own supervisor: it hands every process one shared socket, and the kernel
    then gives a burst of new connections to whichever process wakes first — a proxy's few
    kept-alive connections all ended up on one process while the others idled.
    """
    context = multiprocessing.get_context("spawn")
    stopping = threading.Event()

    def start() -> BaseProcess:
        process = context.Process(target=_serve_one_of_several, args=(host, port))
        process.start()
        return process

    def stop(_signal: int, _frame: object) -> None:
        stopping.set()

    for signal_number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signal_number, stop)
    processes = [start() for _ in range(workers)]
    try:
        while not stopping.is_set():
            wait([process.sentinel for process in processes], timeout=0.5)
            if stopping.is_set():
                break
            processes = [process if process.is_alive() else start() for process in processes]
    finally:
        for process in processes:
            process.terminate()  # uvicorn finishes the requests in flight, then exits
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()


def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (default KIBAN_HOST)")] = None,
    port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="Port (default KIBAN_PORT)")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(min=1, max=64, help="Server processes (default KIBAN_WORKERS)"),
    ] = None,
) -> None:
    # Its help, shown by `kiban serve --help` too, is in kiban.cli.COMMANDS.
    settings = get_settings()
    host = host or settings.host
    port = port or settings.port
    workers = workers or settings.workers
    try:
        listener = tcp_listener(host, port, shared_port=workers > 1)
    except OSError as error:
        raise CliError(f"cannot listen on {host}:{port}: {error.strerror}") from None
    print(f"kiban is serving on http://{host}:{port} ({workers} process(es))", flush=True)
    if workers == 1:
        uvicorn.Server(_config(settings)).run(sockets=[listener])
        return
    # Bound only to prove the port free: a socket that listens but never accepts would
    # strand the connections the kernel gave it.
    listener.close()
    _supervise(host, port, workers)
