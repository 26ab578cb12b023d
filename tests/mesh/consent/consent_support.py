"""A bank and an insurer that ask residents for consent, 千代田区's and 八王子市's services,
their gateways, and consents, for the consent tests (their fixtures are re-exported by
conftest.py).

Uses are signed here with joserfc as the contract describes them (``tracker_support.Gateway``),
not with kiban's own signer, so that the tests hold the platform to the contract.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from companies import add_company
from conftest import SignIn
from kiban.core.config import Settings
from kiban.core.sessions import SubjectKind
from kiban.identity.ca.authority import Authority
from kiban.identity.ca.service import JAPAN
from kiban.mesh.consent.request import read_request
from kiban.mesh.consent.service import ConsentService
from kiban.mesh.gateway.consent import TYPE, USE_PATH
from kiban.mesh.identifiers import MemberClass, MemberId, ServiceId, SubsystemId
from kiban.mesh.registry.service import RegistryService
from mesh.openapi_support import register
from mesh.tracker.tracker_support import (
    CHIYODA,
    HACHIOJI,
    HACHIOJI_CERTIFICATE,
    HACHIOJI_JUKI,
    HANAKO,
    JUKI,
    TARO,
    Gateway,
    certify,
)

__all__ = ["CHIYODA", "HACHIOJI", "HACHIOJI_CERTIFICATE", "HANAKO", "TARO"]

BANK_MEMBER = MemberId(MemberClass.COM, "8900000000001")  # さくら銀行, a consumer
INSURER_MEMBER = MemberId(MemberClass.COM, "7900000000002")  # つばめ生命, another
BANK = SubsystemId.of(BANK_MEMBER, "loans")
INSURER = SubsystemId.of(INSURER_MEMBER, "claims")
PENDING = SubsystemId.of(BANK_MEMBER, "cards")  # asked for, not approved
CERTIFICATE = ServiceId.of(JUKI, "resident-certificate", "v1")
HOUSEHOLD = ServiceId.of(JUKI, "household", "v1")  # another service of 千代田区
CERTIFICATE_ITEM = "GET /residents/{addressee_number}/certificate"
HOUSEHOLD_ITEM = "GET /residents/{addressee_number}/household"
Gateways = dict[MemberId, Gateway]

OPENAPI = """\
openapi: 3.1.0
info: {title: 住民票情報 / Resident certificate, version: "1"}
paths:
  /residents/{addressee_number}/certificate:
    get:
      summary: 住民票の記載事項
      description: 氏名、住所、生年月日、性別
      parameters:
        - {name: addressee_number, in: path, required: true, schema: {type: string}}
      responses:
        "200": {description: 住民票の記載事項}
  /residents/{addressee_number}/household:
    get:
      parameters:
        - {name: addressee_number, in: path, required: true, schema: {type: string}}
      responses:
        "200": {description: 世帯}
"""


def register_consent_mesh(session: Session) -> None:
    """千代田区 and 八王子市 with their services; さくら銀行 and つばめ生命 as consumers."""
    add_company(session, "900000000001", "株式会社さくら銀行", "サクラギンコウ")
    add_company(session, "900000000002", "つばめ生命保険株式会社", "ツバメセイメイホケン")
    registry = RegistryService(session)
    register(
        registry,
        [CHIYODA, HACHIOJI, BANK_MEMBER, INSURER_MEMBER],
        [JUKI, HACHIOJI_JUKI, BANK, INSURER],
    )
    registry.request_subsystem(PENDING, requested_by="operator")
    for service, title in (
        (CERTIFICATE, "住民票情報"),
        (HOUSEHOLD, "世帯情報"),
        (HACHIOJI_CERTIFICATE, "住民票情報（八王子市）"),
    ):
        registry.publish_service(
            service, title=title, openapi=OPENAPI, personal_data=True, published_by="operator"
        )


@pytest.fixture
def consent_mesh(db_session: Session) -> None:
    register_consent_mesh(db_session)


@pytest.fixture
def provider_gateways(
    db_session: Session, settings: Settings, authority: Authority, consent_mesh: None
) -> Gateways:
    """千代田区's and 八王子市's gateways, each with its certificate."""
    return {member: certify(db_session, settings, member) for member in (CHIYODA, HACHIOJI)}


def japan_today() -> date:
    return datetime.now(JAPAN).date()


def asked(**changes: str | list[str]) -> list[tuple[str, str]]:
    """A consumer's request, as its link's query: さくら銀行 asks for 花子's 住民票 at 千代田区,
    for its loan screening, for a month, repeatedly."""
    fields: dict[str, str | list[str]] = {
        "consumer": str(BANK),
        "service": str(CERTIFICATE),
        "items": [CERTIFICATE_ITEM],
        "purpose": "loan-screening",
        "explanation": "住宅ローンの審査のため、住所と氏名を確認します。",
        "until": (japan_today() + timedelta(days=30)).isoformat(),
        "kind": "periodic",
        **changes,
    }
    return [
        (name, item)
        for name, value in fields.items()
        for item in ([value] if isinstance(value, str) else value)
    ]


def grant(
    session: Session,
    *,
    addressee_number: str = HANAKO,
    tenant_code: str = "131016",
    now: datetime | None = None,
    **changes: str | list[str],
) -> str:
    """A consent granted as if through the portal (at ``now``); its identifier."""
    moment = now or datetime.now(UTC)
    service = ConsentService(session, now=lambda: moment)
    wanted = read_request(asked(**changes), moment.astimezone(JAPAN).date())
    return service.grant(wanted, tenant_code, addressee_number)


def sign_in_resident(sign_in: SignIn, addressee_number: str = HANAKO) -> None:
    """The resident of 千代田区, signed in with their card."""
    sign_in(
        SubjectKind.RESIDENT,
        f"131016:{addressee_number}",
        tenant_code="131016",
        acr="aal2",
        amr=["hwk", "pin"],
    )


@pytest.fixture
def hanako(sign_in: SignIn) -> None:
    """花子, signed in with her card at 千代田区."""
    sign_in_resident(sign_in)


def use(consent: str, /, **changes: Any) -> dict[str, Any]:
    """What 千代田区's gateway signs to spend ``consent`` for an exchange of さくら銀行's that
    reads 花子's 住民票: the claims ``kiban.mesh.gateway.consent.ConsentChecker`` sends, and the
    operation (``method``, ``path``), without which a consent to some operations is refused."""
    return {
        "provider": str(CHIYODA),
        "issued_at": int(time.time()),
        "consent": consent,
        "message_id": str(uuid.uuid4()),
        "client": str(BANK),
        "service": str(CERTIFICATE),
        "purpose": "loan-screening",
        "method": "GET",
        "path": f"/residents/{HANAKO}/certificate",
        **changes,
    }


def without_operation(payload: dict[str, Any]) -> dict[str, Any]:
    """``payload`` as today's gateways sign it: without the operation."""
    return {name: value for name, value in payload.items() if name not in ("method", "path")}


def signed_use(gateway: Gateway, payload: dict[str, Any], **header: str) -> str:
    return gateway.sign(payload, **{"typ": TYPE, **header})


def post_use(client: TestClient | httpx2.Client, token: str | bytes) -> httpx2.Response:
    return client.post(USE_PATH, content=token, headers={"Content-Type": "application/jose"})


def field_errors(html: str) -> list[str]:
    """The fields an error page names, in order."""
    errors = html[html.index('id="errors"') :]
    return [part.split("</code>")[0] for part in errors.split("<dt><code>")[1:]]


def payload_of(fields: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    """Fields as a form posts them, for ``post_form``."""
    form: dict[str, list[str]] = {}
    for name, value in fields:
        form.setdefault(name, []).append(value)
    return form
