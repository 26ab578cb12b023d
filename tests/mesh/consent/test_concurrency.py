"""Two exchanges that spend a one-time consent at once: only one of them gets it.

Each runs in a transaction of its own on a database of the module's own, as two requests of
the running platform do.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from kiban.app import create_app
from kiban.core.config import Settings
from kiban.identity.ca.authority import ensure_authority
from kiban.mesh.consent.models import MeshConsent
from kiban.mesh.consent.schemas import ConsentUseIn
from kiban.mesh.consent.service import ConsentInvalid, ConsentService
from live_server import listen, serving
from mesh.consent.consent_support import (
    CHIYODA,
    grant,
    post_use,
    register_consent_mesh,
    signed_use,
    use,
)
from mesh.tracker.tracker_support import Gateway, certify

USED = "the consent was for one use, and it has been used"


@dataclass(frozen=True)
class Platform:
    url: str
    gateway: Gateway  # 千代田区's


@pytest.fixture(scope="module")
def platform(
    private_engine: Engine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    """The platform, served, with the consumers and 千代田区's gateway certificate."""
    listener, url = listen()
    settings = Settings(
        database_url=private_engine.url.render_as_string(hide_password=False),
        data_dir=Path(tmp_path_factory.mktemp("platform")),
        public_url=url,
        preload_registry=False,
        log_format="console",
        log_level="warning",
    )
    with Session(private_engine) as session:
        register_consent_mesh(session)
        ensure_authority(session, settings)
        gateway = certify(session, settings, CHIYODA)
        session.commit()
    with serving(create_app(settings, private_engine), listener):
        yield Platform(url, gateway)


def _one_time_consent(engine: Engine) -> str:
    with Session(engine) as session:
        consent_id = grant(session, kind="one-time")
        session.commit()
    return consent_id


def test_the_second_of_two_concurrent_uses_waits_and_is_refused(
    private_engine: Engine, platform: Platform
) -> None:
    consent_id = _one_time_consent(private_engine)
    outcome: dict[str, str] = {}
    with Session(private_engine) as first, Session(private_engine) as second:
        # The first exchange spends the consent and has not committed yet.
        spent = ConsentService(first).spend(
            ConsentUseIn.model_validate_json(json.dumps(use(consent_id)))
        )
        assert spent.consent.hex == consent_id.replace("-", "")

        def spend_again() -> None:
            try:
                ConsentService(second).spend(
                    ConsentUseIn.model_validate_json(json.dumps(use(consent_id)))
                )
                outcome["second"] = "spent"
            except ConsentInvalid as refused:
                outcome["second"] = refused.detail or ""
            second.commit()

        racing = threading.Thread(target=spend_again)
        racing.start()
        racing.join(timeout=0.5)
        assert racing.is_alive(), "the second use must wait for the first one's transaction"
        first.commit()
        racing.join(timeout=10)
    assert outcome == {"second": USED}
    with Session(private_engine) as session:
        stored = session.get(MeshConsent, consent_id)
        assert stored is not None
        assert stored.use_count == 1


def test_of_many_exchanges_at_once_one_spends_a_one_time_consent(
    private_engine: Engine, platform: Platform
) -> None:
    consent_id = _one_time_consent(private_engine)
    tokens = [signed_use(platform.gateway, use(consent_id)) for _ in range(8)]
    start = threading.Barrier(len(tokens))
    statuses: list[tuple[int, str]] = []

    def post(token: str) -> None:
        with httpx2.Client(base_url=platform.url, timeout=30) as client:
            start.wait()
            response = post_use(client, token)
            statuses.append((response.status_code, response.json().get("detail", "")))

    threads = [threading.Thread(target=post, args=(token,)) for token in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [(200, "")] + [(403, USED)] * 7
