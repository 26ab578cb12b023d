"""A gateway killed with SIGKILL under load: nothing acknowledged to a consumer is missing
from either gateway's log, and the chain goes on after the restart."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator

import httpx2
import pytest
from sqlalchemy import Engine, select

from kiban.core.database import create_database_engine
from kiban.mesh.gateway.config import load_gateway
from kiban.mesh.gateway.log_records import LogRecord
from kiban_command import run_kiban
from mesh.gateway.mesh_world import (
    CHIYODA,
    FOR_TAX,
    SAPPORO,
    TARGET,
    MeshWorld,
    RunningGateway,
    an_exchange,
    mesh_world,
    problem_type,
    signed_request,
    to_provider,
)

CALLERS = 6


@pytest.fixture(scope="module")
def world(private_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MeshWorld]:
    with mesh_world(private_engine, tmp_path_factory.mktemp("mesh-crash")) as running:
        yield running


def _logged(gateway: RunningGateway, role: str) -> dict[str, int]:
    """Message id → HTTP status of what ``gateway`` logged in ``role``."""
    engine = create_database_engine(load_gateway(gateway.directory).database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(LogRecord.message_id, LogRecord.status).where(LogRecord.role == role)
            ).all()
    finally:
        engine.dispose()
    return {message_id: status for message_id, status in rows}


def _load(gateway: RunningGateway, stop: threading.Event, acknowledged: list[str]) -> None:
    with httpx2.Client(timeout=10) as client:
        while not stop.is_set():
            try:
                response = client.get(
                    f"{gateway.url}/r1/{TARGET}",
                    headers={"Kiban-Client": "JP/LG/011002/tax", **FOR_TAX},
                )
            except httpx2.HTTPError:
                continue  # the consumer's own gateway is down: nothing was acknowledged
            if response.status_code == 200:
                acknowledged.append(response.headers["Kiban-Id"])


@pytest.mark.parametrize("victim", [CHIYODA, SAPPORO], ids=["provider", "consumer"])
def test_a_gateway_killed_under_load_loses_no_acknowledged_exchange(
    world: MeshWorld, victim: object
) -> None:
    consumer, provider = world.gateway(SAPPORO), world.gateway(CHIYODA)
    killed = world.gateway(victim)  # type: ignore[arg-type]
    acknowledged: list[str] = []
    stop = threading.Event()
    callers = [
        threading.Thread(target=_load, args=(consumer, stop, acknowledged)) for _ in range(CALLERS)
    ]
    for caller in callers:
        caller.start()
    time.sleep(1.5)
    before = len(acknowledged)
    assert killed.stop(signal.SIGKILL) == -signal.SIGKILL
    time.sleep(0.3)
    stop.set()
    for caller in callers:
        caller.join()
    assert before > 20, "the gateways should have been busy when one was killed"

    killed.start()
    killed.wait_until(lambda: killed.health().status_code == 200, "back after the restart")
    after = consumer.call("GET", TARGET, headers=FOR_TAX)
    assert after.status_code == 200, after.text
    acknowledged.append(after.headers["Kiban-Id"])

    consumer_log, provider_log = _logged(consumer, "consumer"), _logged(provider, "provider")
    assert not [m for m in acknowledged if consumer_log.get(m) != 200], "missing, consumer side"
    assert not [m for m in acknowledged if provider_log.get(m) != 200], "missing, provider side"
    for gateway in (consumer, provider):
        verified = run_kiban(
            "mesh",
            "log",
            "verify",
            "--database-url",
            load_gateway(gateway.directory).database_url,
            "--root",
            str(world.root_pem),
        )
        assert verified.returncode == 0, verified.stdout + verified.stderr


def test_a_request_received_before_a_restart_is_still_a_replay_after_it(
    world: MeshWorld,
) -> None:
    _, headers = signed_request(world.gateway(SAPPORO).directory, an_exchange())
    assert to_provider(world, headers).status_code == 200
    provider = world.gateway(CHIYODA)
    provider.stop()
    provider.start()
    provider.wait_until(lambda: provider.health().status_code == 200, "back after the restart")
    again = to_provider(world, headers)
    assert (again.status_code, problem_type(again)) == (409, "replayed-request")
