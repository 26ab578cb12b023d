"""Providers' gateways with certificates from the test CA, a consumer, and records, for the
data tracker's tests (their fixtures are re-exported by conftest.py).

Batches are signed here with joserfc as the contract describes them, not with kiban's own
signer, so that the tests hold the platform to the contract rather than to itself.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx2
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI
from fastapi.testclient import TestClient
from joserfc import jws
from joserfc.jwk import ECKey
from sqlalchemy.orm import Session

from kiban.core.config import Settings
from kiban.core.identifiers import addressee_number_check_digit
from kiban.identity.ca.authority import Authority
from kiban.mesh.identifiers import MemberId, ServiceId, SubsystemId
from kiban.mesh.registry.service import RegistryService
from kiban.mesh.tracker.api import request_time
from kiban.mesh.tracker.protocol import SignedBatch
from kiban.mesh.tracker.schemas import Receipt
from kiban.mesh.tracker.service import TrackerService
from mesh.openapi_support import publish, register

CHIYODA = MemberId.parse("JP/LG/131016")  # 千代田区, the provider in most tests
HACHIOJI = MemberId.parse("JP/LG/132012")  # 八王子市, another provider
SAPPORO = MemberId.parse("JP/LG/011002")  # 札幌市, the consumer
JUKI = SubsystemId.of(CHIYODA, "juki")
HACHIOJI_JUKI = SubsystemId.of(HACHIOJI, "juki")
SAPPORO_TAX = SubsystemId.of(SAPPORO, "tax")
CERTIFICATE = ServiceId.of(JUKI, "resident-certificate", "v1")
HACHIOJI_CERTIFICATE = ServiceId.of(HACHIOJI_JUKI, "resident-certificate", "v1")
HANAKO = "000000001" + addressee_number_check_digit("000000001")  # 宛名番号s
TARO = "000000002" + addressee_number_check_digit("000000002")
TYPE = "kiban-mesh-data-uses+jwt"
RECORDS_PATH = "/mesh/tracker/records"


def register_mesh(session: Session) -> None:
    """千代田区 and 八王子市 each with a resident-records service, and 札幌市's tax system."""
    registry = RegistryService(session)
    register(registry, [CHIYODA, HACHIOJI, SAPPORO], [JUKI, HACHIOJI_JUKI, SAPPORO_TAX])
    publish(registry, CERTIFICATE)
    publish(registry, HACHIOJI_CERTIFICATE)


@pytest.fixture
def mesh(db_session: Session) -> None:
    register_mesh(db_session)


@dataclass(frozen=True)
class Gateway:
    """A provider's gateway: its member, key and certificate serial."""

    member: MemberId
    key: ec.EllipticCurvePrivateKey
    serial: str

    def sign(self, payload: Mapping[str, Any], **header: str) -> str:
        """``payload`` as a compact JWS, signed as the contract says (``header`` overrides)."""
        protected = {"alg": "ES256", "typ": TYPE, "kid": self.serial, **header}
        content = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        registry = jws.JWSRegistry(algorithms=["ES256"])
        registry.max_payload_length = 16 * 1024 * 1024
        return jws.serialize_compact(
            protected, content, ECKey.import_key(self.key), algorithms=["ES256"], registry=registry
        )


def certify(session: Session, settings: Settings, member: MemberId) -> Gateway:
    """A new gateway key of ``member``, certified by the registry as ``kiban mesh member
    certificate`` does."""
    key = ec.generate_private_key(ec.SECP256R1())
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    issued = RegistryService(session).issue_certificate(
        member, public_pem, settings=settings, actor="operator"
    )
    return Gateway(member, key, issued.record.serial_number)


@pytest.fixture
def gateways(
    db_session: Session, settings: Settings, authority: Authority, mesh: None
) -> dict[MemberId, Gateway]:
    """千代田区's and 八王子市's gateways, each with its certificate."""
    return {member: certify(db_session, settings, member) for member in (CHIYODA, HACHIOJI)}


def use(**changes: Any) -> dict[str, Any]:
    """A record as a gateway sends it: 札幌市's tax system read 花子's 住民票 at 千代田区."""
    return {
        "message_id": str(uuid.uuid4()),
        "subject": HANAKO,
        "service": str(CERTIFICATE),
        "client": str(SAPPORO_TAX),
        "user_id": "tax-001",
        "purpose": "tax-assessment",
        "legal_basis": "地方税法第294条",
        "used_at": "2026-03-01T01:15:00Z",
        **changes,
    }


def batch(
    records: Sequence[Mapping[str, Any]],
    provider: MemberId = CHIYODA,
    issued_at: int | None = None,
) -> dict[str, Any]:
    return {
        "provider": str(provider),
        "issued_at": int(time.time()) if issued_at is None else issued_at,
        "records": list(records),
    }


def post_batch(client: TestClient, token: str | bytes) -> httpx2.Response:
    return client.post(RECORDS_PATH, content=token, headers={"Content-Type": "application/jose"})


def store(
    session: Session,
    records: Sequence[Mapping[str, Any]],
    provider: MemberId = CHIYODA,
) -> Receipt:
    """Store records as if a gateway's signature had held: for the tests of the readers."""
    payload = json.dumps(batch(records, provider)).encode("utf-8")
    return TrackerService(session).receive(SignedBatch(provider, "tests", payload))


SetClock = Callable[[datetime], None]


@pytest.fixture
def set_clock(app: FastAPI) -> SetClock:
    """Answer the tracker's requests as if it were ``moment``."""

    def set_to(moment: datetime) -> None:
        app.dependency_overrides[request_time] = lambda: moment.astimezone(UTC)

    return set_to
