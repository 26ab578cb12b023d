"""The gateway process: both interfaces, the configuration loop and the message log.

One process per organisation (``kiban gateway``).  It listens on the consumer interface
(plain HTTP, for the member's own systems on ``allow_from`` networks) and on the mesh
interface (HTTPS with mutual TLS, for other gateways), fetches the global configuration every
``configuration_interval`` seconds, and logs every exchange before it answers.  SIGTERM and
SIGINT stop it cleanly: it stops accepting, finishes the exchanges under way, commits the log
and writes a final checkpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import ssl
import time
from collections.abc import Callable, Generator
from pathlib import Path

import httpx2
import uvicorn
from sqlalchemy import Engine, select

from kiban.core.logging import get_logger
from kiban.core.network import tcp_listener
from kiban.mesh.gateway.app import GatewayRuntime, ReplayGuard, consumer_app, mesh_app
from kiban.mesh.gateway.config import (
    CERTIFICATE_FILE,
    KEY_FILE,
    MAINTENANCE_FILE,
    ROOT_FILE,
    Gateway,
)
from kiban.mesh.gateway.consent import ConsentChecker
from kiban.mesh.gateway.database import open_gateway_database
from kiban.mesh.gateway.fetcher import ConfigurationHolder
from kiban.mesh.gateway.log import LogWriter, MessageLog
from kiban.mesh.gateway.log_records import LogRecord
from kiban.mesh.gateway.metaservices import Metaservices
from kiban.mesh.gateway.protocol import Signer
from kiban.mesh.gateway.tracker import TrackerForwarder

log = get_logger(__name__)

CHECKPOINT_INTERVAL = 60.0  # seconds between signed checkpoints of a busy log
MAINTENANCE_POLL = 1.0  # seconds between looks at the maintenance flag
CLOSE_GRACE = 0.5  # seconds a closing connection has to say goodbye when the gateway stops
_MESH_CONNECTIONS = 256
# No exchange takes longer than this (request_timeout is at most 600 s): how far back in the
# log a restart must look for messages that started within the replay window.
_LONGEST_EXCHANGE = 660.0


def server_tls(gateway: Gateway) -> ssl.SSLContext:
    """The mesh interface's TLS: our certificate, and a client certificate under our root."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(gateway.path(CERTIFICATE_FILE), gateway.path(KEY_FILE))
    context.load_verify_locations(gateway.path(ROOT_FILE))
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def client_tls(gateway: Gateway) -> ssl.SSLContext:
    """TLS to other gateways: their certificate under our root, ours presented to them.

    A gateway's certificate names its member, not a host, so the host name is not checked;
    the provider is recognised by its signature on the answer instead.
    """
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=gateway.path(ROOT_FILE))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = False
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_cert_chain(gateway.path(CERTIFICATE_FILE), gateway.path(KEY_FILE))
    return context


class _Listener(uvicorn.Server):
    """One of the gateway's two listeners; the gateway handles the signals for both."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # A TLS connection is gone only once its peer answers the close alert, and another
        # gateway's idle pooled connection never reads it: shutting down would wait out the
        # whole grace period.  Closing connections that have sent everything are cut instead.
        asyncio.get_running_loop().call_later(CLOSE_GRACE, self._cut_closed_connections)
        await super().shutdown(sockets)

    def _cut_closed_connections(self) -> None:
        for connection in list(self.server_state.connections):
            transport = getattr(connection, "transport", None)
            if (
                isinstance(transport, asyncio.Transport)
                and transport.is_closing()
                and transport.get_write_buffer_size() == 0
            ):
                transport.abort()
        if self.server_state.connections:  # requests still being answered: look again
            asyncio.get_running_loop().call_later(CLOSE_GRACE, self._cut_closed_connections)


async def run_gateway(gateway: Gateway, announce: Callable[[str], None] = print) -> None:
    """Run ``gateway`` until SIGTERM or SIGINT."""
    settings = gateway.settings
    # Bound first, so that a port in use stops the gateway before anything else starts.
    sockets = [
        tcp_listener(settings.host, settings.port),
        tcp_listener(settings.mesh_host, settings.mesh_port),
    ]
    engine = open_gateway_database(gateway.database_url)
    message_log = MessageLog(
        engine,
        gateway.keys.private_key,
        gateway.keys.certificate,
        issuers=gateway.keys.chain[1:],
        body_key=gateway.keys.log_key,
    )
    writer = LogWriter(message_log)
    writer.start()
    limits = httpx2.Limits(max_connections=_MESH_CONNECTIONS, max_keepalive_connections=64)
    async with (
        httpx2.AsyncClient(timeout=10) as registry_client,
        httpx2.AsyncClient(verify=client_tls(gateway), limits=limits) as mesh_client,
        httpx2.AsyncClient(limits=limits) as backend_client,
    ):
        holder = ConfigurationHolder(
            settings.registry_url,
            gateway.keys.root,
            interval=settings.configuration_interval,
            client=registry_client,
        )
        sent, received = ReplayGuard(), ReplayGuard()
        logged = _logged_since(engine, time.time() - sent.window)
        sent.remember(logged["consumer"])
        received.remember(logged["provider"])
        signer = Signer(gateway.keys.private_key, gateway.keys.serial)
        tracker = TrackerForwarder(
            engine, signer, gateway.member, settings.registry_url, registry_client
        )
        runtime = GatewayRuntime(
            gateway=gateway,
            configuration=holder,
            writer=writer,
            mesh_client=mesh_client,
            backend_client=backend_client,
            signer=signer,
            metaservices=Metaservices(settings.registry_url, registry_client),
            consents=ConsentChecker(settings.registry_url, registry_client, signer, gateway.member),
            tracker=tracker,
            sent=sent,
            received=received,
        )
        listeners = [
            _Listener(_config(consumer_app(runtime))),
            _Listener(
                _config(
                    mesh_app(runtime),
                    ssl_context_factory=lambda _config, _default: server_tls(gateway),
                )
            ),
        ]
        loop = asyncio.get_running_loop()
        for stop_signal in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(stop_signal, _stop, listeners)
        background = [
            asyncio.create_task(holder.keep_fresh()),
            asyncio.create_task(tracker.keep_forwarding()),
            asyncio.create_task(_checkpoints(message_log)),
            asyncio.create_task(_watch_maintenance(runtime, gateway.path(MAINTENANCE_FILE))),
        ]
        serving = [
            asyncio.create_task(listener.serve(sockets=[bound]))
            for listener, bound in zip(listeners, sockets, strict=True)
        ]
        while not all(listener.started for listener in listeners):
            if any(task.done() for task in serving):
                _stop(listeners)
                break
            await asyncio.sleep(0.02)
        else:
            consumer, mesh = (_address(bound) for bound in sockets)
            announce(
                f"gateway {gateway.member}: consumer interface http://{consumer}, "
                f"mesh interface https://{mesh} / 起動しました"
            )
        await asyncio.gather(*serving, return_exceptions=True)
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
    await writer.close()
    engine.dispose()


def _logged_since(engine: Engine, since: float) -> dict[str, list[tuple[str, str, float]]]:
    """The messages this gateway logged since ``since``, per role, oldest first: after a
    restart, a message seen before it is still a replay.

    Read backwards along the chain, which is in the order exchanges ended, until records end
    well before ``since``: a restart reads the last minutes of the log, not all of it.
    """
    found: dict[str, list[tuple[str, str, float]]] = {"consumer": [], "provider": []}
    horizon = int((since - _LONGEST_EXCHANGE) * 1_000_000)
    below: int | None = None
    with engine.connect() as connection:
        while True:
            statement = select(
                LogRecord.seq,
                LogRecord.role,
                LogRecord.client,
                LogRecord.message_id,
                LogRecord.started_us,
                LogRecord.finished_us,
            ).order_by(LogRecord.seq.desc())
            if below is not None:
                statement = statement.where(LogRecord.seq < below)
            rows = connection.execute(statement.limit(1000)).all()
            for _, role, client, message_id, started, _ in rows:
                if started >= since * 1_000_000:
                    found[role].append((client, message_id, started / 1_000_000))
            if not rows or rows[-1].finished_us < horizon:
                break
            below = rows[-1].seq
    for received in found.values():
        received.reverse()
    return found


def _address(listener: socket.socket) -> str:
    host, port = listener.getsockname()[:2]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _config(app: object, **tls: object) -> uvicorn.Config:
    return uvicorn.Config(
        app,  # type: ignore[arg-type]
        lifespan="off",
        access_log=False,
        log_config=None,
        timeout_graceful_shutdown=10,
        **tls,  # type: ignore[arg-type]
    )


def _stop(listeners: list[_Listener]) -> None:
    for listener in listeners:
        listener.should_exit = True


async def _watch_maintenance(runtime: GatewayRuntime, flag: Path) -> None:
    """Maintenance mode follows the flag file, which ``kiban gateway maintenance`` writes."""
    while True:
        try:
            reason = flag.read_text(encoding="utf-8").strip() or "maintenance"
        except FileNotFoundError:
            reason = None
        except (OSError, UnicodeDecodeError):
            reason = f"{flag} cannot be read"
        if reason != runtime.maintenance:
            log.warning("mesh.gateway.maintenance", reason=reason)
            runtime.maintenance = reason
        await asyncio.sleep(MAINTENANCE_POLL)


async def _checkpoints(message_log: MessageLog) -> None:
    """A signed checkpoint every minute, so that little of a busy log is ever unsealed."""
    while True:
        await asyncio.sleep(CHECKPOINT_INTERVAL)
        await asyncio.to_thread(message_log.checkpoint)
