"""Fixtures of the events' tests: each behaviour on both transports and both databases.

A test asks for ``settings`` (or ``transport``) and runs once with the database transport and
once with NATS JetStream, each on SQLite and PostgreSQL (``gateway_engine``, a fresh gateway
database per test).  NATS tests use the server at ``KIBAN_TEST_NATS_URL``
(nats://127.0.0.1:4222), a stream of their own deleted afterwards, and are skipped, saying
why, only when that server cannot be reached.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache

import pytest

from kiban.mesh.events import EventSettings
from mesh.events.events_support import (
    NATS_URL,
    delete_stream,
    nats_unreachable,
    run_scenario,
    settings_for,
    unique_stream,
)
from mesh.gateway.test_log import gateway_engine

__all__ = ["gateway_engine"]


@cache
def _nats_unreachable() -> str | None:
    return run_scenario(nats_unreachable())


@pytest.fixture(params=["database", "nats"])
def transport(request: pytest.FixtureRequest) -> str:
    if request.param == "nats" and (reason := _nats_unreachable()):
        pytest.skip(f"no NATS JetStream server at {NATS_URL} ({reason})")
    name: str = request.param
    return name


@pytest.fixture
def stream(transport: str) -> Iterator[str]:
    """A JetStream stream name of the test's own, deleted afterwards."""
    name = unique_stream()
    yield name
    if transport == "nats":
        run_scenario(delete_stream(name))


@pytest.fixture
def settings(transport: str, stream: str) -> EventSettings:
    return settings_for(transport, stream)
