"""A mesh on loopback, every part in its own process: the registry (``kiban serve``) and the
organisations' gateways (``kiban gateway``), with provider systems behind them.

The registry's database is set up in the test's process, through the same services the
``kiban mesh`` commands use; every gateway is set up with ``initialise`` as
``kiban gateway init`` does, and certified by the registry's CA.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
from cryptography.hazmat.primitives import serialization
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from kiban.core.config import Settings
from kiban.core.network import tcp_listener
from kiban.identity.ca.authority import ensure_authority
from kiban.mesh.gateway.config import (
    CERTIFICATE_FILE,
    PUBLIC_KEY_FILE,
    SETTINGS_FILE,
    initialise,
    load_gateway,
)
from kiban.mesh.gateway.protocol import (
    Exchange,
    Signer,
    digest,
    encode_header,
    forwarded_headers,
)
from kiban.mesh.gateway.server import client_tls
from kiban.mesh.identifiers import MemberId, ServiceId, SubsystemId
from kiban.mesh.registry.service import RegistryService
from live_server import serving

SECRET_KEY = "the mesh world's secret key, for tests only"
OPERATOR = "operator"
READY_TIMEOUT = 30.0

# The organisations: a ministry, a prefecture and two municipalities.
MINISTRY = MemberId.parse("JP/GOV/6000012010023")  # デジタル庁
PREFECTURE = MemberId.parse("JP/LG/130001")  # 東京都
CHIYODA = MemberId.parse("JP/LG/131016")  # 千代田区, the provider in most tests
SAPPORO = MemberId.parse("JP/LG/011002")  # 札幌市, the consumer in most tests
NAMES = {MINISTRY: "デジタル庁"}

JUKI = SubsystemId.of(CHIYODA, "juki")
SAPPORO_TAX = SubsystemId.of(SAPPORO, "tax")
SAPPORO_LIBRARY = SubsystemId.of(SAPPORO, "library")  # approved, but granted nothing
PREFECTURE_WELFARE = SubsystemId.of(PREFECTURE, "welfare")
MINISTRY_STATS = SubsystemId.of(MINISTRY, "stats")
CERTIFICATE = ServiceId.of(JUKI, "resident-certificate", "v1")
# The token 千代田区's resident system expects from its gateway.
PROVIDER_TOKEN = "kiban_131016_gateway_provider-token-for-tests"
RESIDENT = "0000000125"  # a 宛名番号: 9-digit serial and its check digit
# 札幌市's tax system asks 千代田区 for RESIDENT's certificate, for the municipal tax.
TARGET = f"{CERTIFICATE}/residents/{RESIDENT}/certificate"
FOR_TAX = {
    "Kiban-Purpose": "tax-assessment",
    "Kiban-Legal-Basis": encode_header("地方税法第294条"),
}


def free_port() -> int:
    with tcp_listener("127.0.0.1", 0) as probe:
        port: int = probe.getsockname()[1]
        return port


def _environment(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONUTF8": "1",
        "KIBAN_DATABASE_URL": settings.database_url,
        "KIBAN_SECRET_KEY": SECRET_KEY,
        "KIBAN_DATA_DIR": str(settings.data_dir),
        "KIBAN_LOG_LEVEL": "warning",
    }


def _first_line(process: subprocess.Popen[str], what: str) -> str:
    """The first line ``process`` prints, once it does; its error output if it dies first."""
    assert process.stdout is not None
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.1)
        if ready:
            line = process.stdout.readline()
            if line:
                return line.strip()
        if process.poll() is not None:
            errors = process.stderr.read() if process.stderr else ""
            raise AssertionError(f"{what} exited with {process.returncode}: {errors}")
    process.kill()
    raise AssertionError(f"{what} did not start within {READY_TIMEOUT} s")


@dataclass
class RunningGateway:
    """One organisation's gateway process."""

    member: MemberId
    directory: Path
    port: int
    mesh_port: int
    environment: dict[str, str]
    process: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def mesh_address(self) -> str:
        return f"https://127.0.0.1:{self.mesh_port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kiban",
                "gateway",
                "--member",
                str(self.member),
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            env=self.environment,
        )
        line = _first_line(self.process, f"the gateway of {self.member}")
        assert "起動しました" in line, line

    def stop(self, how: signal.Signals = signal.SIGTERM) -> int:
        assert self.process is not None
        self.process.send_signal(how)
        code = self.process.wait(timeout=30)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()
        self.process = None
        return code

    def call(
        self,
        method: str,
        target: str,
        *,
        client: SubsystemId | None = SAPPORO_TAX,
        headers: Mapping[str, str] | None = None,
        **options: Any,
    ) -> httpx2.Response:
        """``METHOD /r1/{target}`` on the consumer interface, as one of our systems calls."""
        sent = {"Kiban-Client": str(client)} if client is not None else {}
        return httpx2.request(
            method,
            f"{self.url}/r1/{target}",
            headers={**sent, **(headers or {})},
            timeout=30,
            **options,
        )

    def health(self) -> httpx2.Response:
        return httpx2.get(f"{self.url}/health", timeout=10)

    def wait_until(self, ready: Callable[[], bool], what: str, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            assert time.monotonic() < deadline, f"{self.member}: {what} within {timeout} s"
            time.sleep(0.1)


@dataclass
class ProviderSystem:
    """A provider's own system behind its gateway: answers resident certificates and shows
    what the gateway passed on."""

    url: str = ""
    seen: list[dict[str, str]] = field(default_factory=list)

    def app(self) -> Starlette:
        async def certificate(request: Request) -> Response:
            self.seen.append(dict(request.headers))
            number = request.path_params["number"]
            return JSONResponse(
                {
                    "addressee_number": number,
                    "name": "山田 花子",
                    "purpose": request.headers.get("kiban-purpose"),
                },
                headers={"Kiban-Data-Subject": number},
            )

        async def household(request: Request) -> Response:
            return JSONResponse({"members": 3})

        return Starlette(
            routes=[
                Route("/residents/{number}/certificate", certificate),
                Route("/residents/{number}/household", household),
            ]
        )


@dataclass
class MeshWorld:
    settings: Settings
    engine: Engine
    registry_url: str
    root_pem: Path
    provider: ProviderSystem
    gateways: dict[MemberId, RunningGateway]
    directory: Path
    extra: list[RunningGateway] = field(default_factory=list)

    def gateway(self, member: MemberId) -> RunningGateway:
        return self.gateways[member]

    def another_gateway(
        self, member: MemberId, *, registry_url: str | None = None, start: bool = True
    ) -> RunningGateway:
        """A further gateway of ``member``, with a key and certificate of its own (started
        unless ``start`` is false); its address is not registered, so no provider's traffic
        is sent to it."""
        directory = self.directory / f"gateway-{len(self.extra)}-{member.code}"
        with Session(self.engine) as session:
            running = _prepare_gateway(
                session, self.settings, directory, member, registry_url or self.registry_url
            )
            session.commit()
        self.extra.append(running)
        if start:
            running.start()
        return running


def _prepare_gateway(
    session: Session,
    settings: Settings,
    directory: Path,
    member: MemberId,
    registry_url: str,
    backends: Mapping[ServiceId, str] | None = None,
) -> RunningGateway:
    """Set a gateway up as its operator and the registry's would: ``init``, a certificate
    from the registry's CA, and settings that fetch the configuration every second."""
    running = RunningGateway(member, directory, free_port(), free_port(), _environment(settings))
    initialise(
        directory,
        member,
        registry_url=registry_url,
        root=settings.data_dir.parent / "root.pem",
        port=running.port,
        mesh_port=running.mesh_port,
    )
    registry = RegistryService(session)
    issued = registry.issue_certificate(
        member, (directory / PUBLIC_KEY_FILE).read_bytes(), settings=settings, actor=OPERATOR
    )
    (directory / CERTIFICATE_FILE).write_bytes(issued.pem + registry.authority_chain_pem())
    path = directory / SETTINGS_FILE
    text = path.read_text(encoding="utf-8").replace(
        "configuration_interval = 60", "configuration_interval = 1"
    )
    for service, url in (backends or {}).items():
        text += f'"{service}" = {{ url = "{url}", token_file = "provider.token" }}\n'
    (directory / "provider.token").write_text(PROVIDER_TOKEN + "\n", encoding="utf-8")
    path.write_text(text, encoding="utf-8")
    return running


def _register(session: Session) -> None:
    from kiban.mesh.registry.access import AccessService, Endpoint, Grantee
    from mesh.openapi_support import RESIDENT_CERTIFICATE

    registry = RegistryService(session)
    for member in (MINISTRY, PREFECTURE, CHIYODA, SAPPORO):
        registry.request_member(member, requested_by=OPERATOR, name=NAMES.get(member))
        registry.approve_member(member, operator=OPERATOR)
    for subsystem in (JUKI, SAPPORO_TAX, SAPPORO_LIBRARY, PREFECTURE_WELFARE, MINISTRY_STATS):
        registry.request_subsystem(subsystem, requested_by=OPERATOR)
        registry.approve_subsystem(subsystem, operator=OPERATOR)
    registry.publish_service(
        CERTIFICATE,
        title="住民票情報",
        openapi=RESIDENT_CERTIFICATE,
        personal_data=True,
        published_by=OPERATOR,
    )
    access = AccessService(session)
    access.grant(
        CERTIFICATE,
        Grantee.parse(str(SAPPORO_TAX)),
        endpoint=Endpoint.parse("GET /residents/{addressee_number}/certificate"),
        purposes=["tax-assessment"],
        actor=OPERATOR,
    )
    access.grant(
        CERTIFICATE,
        Grantee.parse(str(PREFECTURE_WELFARE)),
        endpoint=Endpoint(),
        purposes=["public-assistance"],
        actor=OPERATOR,
    )


@contextmanager
def mesh_world(
    engine: Engine, tmp_path: Path, provider_url: str | None = None
) -> Iterator[MeshWorld]:
    """The registry, four gateways and 千代田区's resident system, until the block ends.

    The resident system runs in this process unless ``provider_url`` names one already
    running (the benchmark's, in a process of its own)."""
    settings = Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        secret_key=SECRET_KEY,
        data_dir=tmp_path / "registry",  # its parent holds root.pem
    )
    registry_port = free_port()
    registry_url = f"http://127.0.0.1:{registry_port}"
    provider = ProviderSystem()
    listener = tcp_listener("127.0.0.1", 0)
    provider.url = provider_url or f"http://127.0.0.1:{listener.getsockname()[1]}"
    if provider_url is not None:
        listener.close()
    root_pem = tmp_path / "root.pem"
    gateways: dict[MemberId, RunningGateway] = {}
    world: MeshWorld | None = None
    with Session(engine) as session:
        authority, _ = ensure_authority(session, settings)
        root_pem.write_bytes(authority.root.public_bytes(serialization.Encoding.PEM))
        _register(session)
        for member in (MINISTRY, PREFECTURE, CHIYODA, SAPPORO):
            running = _prepare_gateway(
                session,
                settings,
                tmp_path / f"gateway-{member.member_class.value}-{member.code}",
                member,
                registry_url,
                {CERTIFICATE: provider.url} if member == CHIYODA else {},
            )
            RegistryService(session).add_gateway(member, running.mesh_address, actor=OPERATOR)
            gateways[member] = running
        session.commit()
    registry_process = subprocess.Popen(
        [sys.executable, "-m", "kiban", "serve"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={
            **_environment(settings),
            "KIBAN_PORT": str(registry_port),
            "KIBAN_PRELOAD_REGISTRY": "false",
        },
    )
    try:
        _wait_for(f"{registry_url}/healthz", registry_process)
        with serving(provider.app(), listener) if provider_url is None else nullcontext():
            threads = [threading.Thread(target=gateway.start) for gateway in gateways.values()]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            for gateway in gateways.values():
                assert gateway.process is not None, f"the gateway of {gateway.member} failed"
                gateway.wait_until(
                    lambda gateway=gateway: gateway.health().status_code == 200,  # type: ignore[misc]
                    "a valid configuration",
                )
            world = MeshWorld(
                settings, engine, registry_url, root_pem, provider, gateways, tmp_path
            )
            yield world
    finally:
        for gateway in [*gateways.values(), *(world.extra if world else [])]:
            if gateway.process is not None:
                gateway.stop()
        registry_process.terminate()
        registry_process.wait(timeout=30)


def _wait_for(url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"{url}: the server exited: {process.stderr.read() if process.stderr else ''}"
            )
        try:
            if httpx2.get(url, timeout=1).status_code == 200:
                return
        except httpx2.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {READY_TIMEOUT} s")


def problem_type(response: httpx2.Response) -> str:
    """The last segment of a problem's ``type``: ``access-denied``."""
    document = json.loads(response.content)
    return str(document["type"]).rsplit("/", 1)[-1]


def signed_request(directory: Path, exchange: Exchange) -> tuple[str, dict[str, str]]:
    """``exchange`` signed by the gateway in ``directory``: the signature, and the headers
    that carry it."""
    gateway = load_gateway(directory)
    signature = Signer(gateway.keys.private_key, gateway.keys.serial).sign_request(exchange)
    return signature, {**forwarded_headers(exchange), "Kiban-Signature": signature}


def an_exchange(**changes: object) -> Exchange:
    """札幌市's tax system asks 千代田区 for a resident certificate, with ``changes``."""
    values: dict[str, object] = {
        "id": str(uuid.uuid4()),
        "client": str(SAPPORO_TAX),
        "service": str(CERTIFICATE),
        "method": "GET",
        "path": f"/residents/{RESIDENT}/certificate",
        "user": None,
        "purpose": "tax-assessment",
        "legal_basis": "chihozei-ho",
        "consent": None,
        "body": digest(b""),
        "iat": int(time.time()),
        **changes,
    }
    return Exchange(**values)  # type: ignore[arg-type]


def to_provider(
    world: MeshWorld, headers: dict[str, str], path: str = f"/residents/{RESIDENT}/certificate"
) -> httpx2.Response:
    """A request straight to 千代田区's mesh interface, over mutual TLS as 札幌市's gateway."""
    sapporo = load_gateway(world.gateway(SAPPORO).directory)
    chiyoda = world.gateway(CHIYODA)
    with httpx2.Client(verify=client_tls(sapporo), timeout=10) as client:
        return client.get(
            f"{chiyoda.mesh_address}/r1/{CERTIFICATE}{path}",
            headers=headers,
        )
