"""The provider's gateway spends a consent on every exchange that names it: signed, checked
against what the resident granted, recorded — or refused with one line that never names the
person."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from kiban.identity.ca.models import RevocationReason
from kiban.identity.ca.service import CertificateRegister
from kiban.mesh.consent.models import MeshConsent
from kiban.mesh.consent.service import ConsentService
from kiban.mesh.gateway.protocol import Signer
from mesh.consent.consent_support import (
    CERTIFICATE,
    CERTIFICATE_ITEM,
    CHIYODA,
    HACHIOJI,
    HACHIOJI_CERTIFICATE,
    HANAKO,
    HOUSEHOLD,
    HOUSEHOLD_ITEM,
    INSURER,
    Gateways,
    grant,
    japan_today,
    post_use,
    signed_use,
    use,
    without_operation,
)
from mesh.tracker.tracker_support import TYPE as DATA_USES_TYPE
from mesh.tracker.tracker_support import Gateway, SetClock, batch, post_batch

PROBLEMS = "https://kiban.example/problems/"


def _problem(response: Any, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["type"] == PROBLEMS + slug
    return body


def _refused(client: TestClient, gateways: Gateways, payload: dict[str, Any]) -> str:
    """The one line that says why the consent does not allow the exchange."""
    response = post_use(client, signed_use(gateways[CHIYODA], payload))
    body = _problem(response, 403, "mesh/consent-invalid")
    detail: str = body["detail"]
    assert "\n" not in detail
    assert HANAKO not in response.text  # never the person
    return detail


def _spend(client: TestClient, gateways: Gateways, payload: dict[str, Any]) -> dict[str, Any]:
    response = post_use(client, signed_use(gateways[CHIYODA], payload))
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _stored(db_session: Session, consent_id: str) -> MeshConsent:
    consent = db_session.get(MeshConsent, consent_id)
    assert consent is not None
    db_session.refresh(consent)
    return consent


def test_a_periodic_consent_is_spent_again_and_again(
    client: TestClient, db_session: Session, provider_gateways: Gateways
) -> None:
    consent_id = grant(db_session)
    first = use(consent_id)
    assert _spend(client, provider_gateways, first) == {"consent": consent_id, "subject": HANAKO}
    assert _spend(client, provider_gateways, use(consent_id)) == {
        "consent": consent_id,
        "subject": HANAKO,
    }
    stored = _stored(db_session, consent_id)
    assert stored.use_count == 2
    assert stored.last_used_at is not None
    assert (stored.used_at, stored.used_message_id) == (None, None)


def test_what_a_gateways_signer_makes_is_accepted(
    client: TestClient, db_session: Session, provider_gateways: Gateways
) -> None:
    """The gateways sign with ``Signer.sign``: the header the contract names, and no other."""
    chiyoda = provider_gateways[CHIYODA]
    consent_id = grant(db_session, items="*")
    # Today's gateways do not name the operation: a consent to the whole service needs none.
    claims = without_operation(use(consent_id))
    token = Signer(chiyoda.key, chiyoda.serial).sign("kiban-mesh-consent-use+jwt", claims)
    assert post_use(client, token).json() == {"consent": consent_id, "subject": HANAKO}


def test_a_one_time_consent_is_spent_once(
    client: TestClient, db_session: Session, provider_gateways: Gateways
) -> None:
    consent_id = grant(db_session, kind="one-time")
    first = use(consent_id)
    assert _spend(client, provider_gateways, first)["subject"] == HANAKO
    detail = _refused(client, provider_gateways, use(consent_id))
    assert detail == "the consent was for one use, and it has been used"
    stored = _stored(db_session, consent_id)
    assert (stored.use_count, stored.used_message_id) == (1, first["message_id"])
    assert stored.used_at is not None


def test_a_revoked_consent_allows_nothing_from_the_next_request(
    client: TestClient, db_session: Session, provider_gateways: Gateways
) -> None:
    consent_id = grant(db_session)
    _spend(client, provider_gateways, use(consent_id))
    ConsentService(db_session).revoke_own(consent_id, "131016", HANAKO)
    assert _refused(client, provider_gateways, use(consent_id)) == "the consent has been revoked"
    assert _stored(db_session, consent_id).use_count == 1


def test_a_consent_holds_through_its_last_day_in_japan_only(
    client: TestClient, db_session: Session, provider_gateways: Gateways, set_clock: SetClock
) -> None:
    last_day = japan_today() + timedelta(days=2)
    consent_id = grant(db_session, until=last_day.isoformat())
    # The last day, 23:59 in Japan: it holds.
    set_clock(datetime(last_day.year, last_day.month, last_day.day, 14, 59, tzinfo=UTC))
    assert _spend(client, provider_gateways, use(consent_id))["consent"] == consent_id
    # The next day in Japan (still the last day in UTC): it has expired.
    set_clock(datetime(last_day.year, last_day.month, last_day.day, 15, 0, tzinfo=UTC))
    assert _refused(client, provider_gateways, use(consent_id)) == "the consent has expired"


def test_a_consent_granted_ahead_is_not_valid_yet(
    client: TestClient, db_session: Session, provider_gateways: Gateways
) -> None:
    consent_id = grant(db_session, now=datetime.now(UTC) + timedelta(hours=1))
    assert _refused(client, provider_gateways, use(consent_id)) == "the consent is not valid yet"


@pytest.mark.parametrize(
    ("changes", "detail"),
    [
        ({"client": str(INSURER)}, "the consent is given to another consumer"),
        ({"service": str(HOUSEHOLD)}, "the consent is for another service"),
        ({"purpose": "marketing"}, "the consent is for another purpose"),
        ({"purpose": None}, "the consent is for another purpose"),
        ({"consent": str(uuid.uuid4())}, "no consent has this identifier"),
        ({"consent": "my-consent"}, "no consent has this identifier"),
    ],
)
def test_a_consent_allows_only_what_it_was_granted_for(
    client: TestClient,
    db_session: Session,
    provider_gateways: Gateways,
    changes: dict[str, Any],
    detail: str,
) -> None:
    consent_id = grant(db_session)
    assert _refused(client, provider_gateways, use(consent_id, **changes)) == detail
    assert _stored(db_session, consent_id).use_count == 0


def test_another_providers_gateway_cannot_spend_a_consent(
    client: TestClient, db_session: Session, provider_gateways: Gateways
) -> None:
    consent_id = grant(db_session)
    payload = use(consent_id, provider=str(HACHIOJI), service=str(HACHIOJI_CERTIFICATE))
    response = post_use(client, signed_use(provider_gateways[HACHIOJI], payload))
    body = _problem(response, 403, "mesh/consent-invalid")
    assert body["detail"] == "the consent is for another provider's data"
    # Nor can it pass itself off as 千代田区's.
    forged = post_use(client, signed_use(provider_gateways[HACHIOJI], use(consent_id)))
    body = _problem(forged, 401, "mesh/invalid-signature")
    assert body["detail"] == (
        "the consent use is JP/LG/131016's, and signed with JP/LG/132012's certificate"
        f" {provider_gateways[HACHIOJI].serial}"
    )


def test_a_consent_to_some_operations_covers_those_only(
    client: TestClient, db_session: Session, provider_gateways: Gateways
) -> None:
    consent_id = grant(db_session)  # GET …/certificate only
    path = f"/residents/{HANAKO}/certificate"
    covered = use(consent_id, method="GET", path=f"{path}?fields=name")
    assert _spend(client, provider_gateways, covered)["consent"] == consent_id
    for method, other in (("GET", f"/residents/{HANAKO}/household"), ("DELETE", path)):
        detail = _refused(client, provider_gateways, use(consent_id, method=method, path=other))
        assert detail == "the consent does not cover this operation"
    # A gateway that does not say which operation is refused: the check fails closed.
    unnamed = without_operation(use(consent_id))
    assert _refused(client, provider_gateways, unnamed) == (
        "the consent covers some operations only, and the exchange's operation"
        " (method and path) is not given"
    )
    # A consent to the whole service needs no operation.
    whole = grant(db_session, items="*")
    assert _spend(client, provider_gateways, without_operation(use(whole)))["consent"] == whole
    both = grant(db_session, items=[HOUSEHOLD_ITEM, CERTIFICATE_ITEM])
    household = use(both, method="GET", path=f"/residents/{HANAKO}/household")
    assert _spend(client, provider_gateways, household)["consent"] == both


def test_a_signature_that_does_not_hold_is_refused(
    client: TestClient, db_session: Session, provider_gateways: Gateways
) -> None:
    consent_id = grant(db_session)
    chiyoda = provider_gateways[CHIYODA]
    impostor = Gateway(CHIYODA, ec.generate_private_key(ec.SECP256R1()), chiyoda.serial)
    body = _problem(
        post_use(client, signed_use(impostor, use(consent_id))), 401, "mesh/invalid-signature"
    )
    assert body["detail"] == f"the signature does not verify with certificate {chiyoda.serial}"
    # A data-tracker batch is not a consent use, nor the other way round.
    as_batch = chiyoda.sign(use(consent_id), typ=DATA_USES_TYPE)
    body = _problem(post_use(client, as_batch), 401, "mesh/invalid-signature")
    assert body["detail"] == "the body is not a kiban-mesh-consent-use+jwt signed with ES256"
    as_use = signed_use(chiyoda, batch([]))
    _problem(post_batch(client, as_use), 401, "mesh/invalid-signature")
    assert _stored(db_session, consent_id).use_count == 0


def test_a_revoked_certificate_is_refused_at_once(
    client: TestClient, db_session: Session, provider_gateways: Gateways
) -> None:
    consent_id = grant(db_session)
    chiyoda = provider_gateways[CHIYODA]
    CertificateRegister(db_session).revoke(
        chiyoda.serial, RevocationReason.KEY_COMPROMISE, actor="operator"
    )
    body = _problem(
        post_use(client, signed_use(chiyoda, use(consent_id))), 401, "mesh/unknown-certificate"
    )
    assert body["detail"].startswith(
        f"certificate {chiyoda.serial}: The certificate has been revoked"
    )
    unknown = Gateway(CHIYODA, chiyoda.key, "7" * 32)
    body = _problem(
        post_use(client, signed_use(unknown, use(consent_id))), 401, "mesh/unknown-certificate"
    )
    assert body["detail"] == f"no organisation certificate has serial {'7' * 32}"
    assert _stored(db_session, consent_id).use_count == 0


def test_a_use_issued_ahead_of_the_platforms_clock_is_refused(
    client: TestClient, db_session: Session, provider_gateways: Gateways
) -> None:
    consent_id = grant(db_session)
    ahead = use(consent_id, issued_at=int(time.time()) + 3600)
    body = _problem(
        post_use(client, signed_use(provider_gateways[CHIYODA], ahead)), 401, "mesh/stale-request"
    )
    assert "seconds ahead of the platform's clock" in body["detail"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"message_id": "42"}, "message_id"),
        ({"client": "JP/COM/8900000000001"}, "client"),
        ({"service": "JP/LG/131017/juki/resident-certificate/v1"}, "service"),
        ({"consent": ""}, "consent"),
        ({"issued_at": "now"}, "issued_at"),
        ({"subject": HANAKO}, "subject"),
    ],
)
def test_a_malformed_use_is_named_without_its_values(
    client: TestClient,
    db_session: Session,
    provider_gateways: Gateways,
    changes: dict[str, Any],
    field: str,
) -> None:
    consent_id = grant(db_session)
    payload = use(consent_id, **changes)
    response = post_use(client, signed_use(provider_gateways[CHIYODA], payload))
    body = _problem(response, 400, "mesh/invalid-consent-use")
    assert body["errors"][0]["field"] == field
    assert body["detail"].startswith(f"{field}: ")
    assert HANAKO not in response.text


def test_the_body_must_be_a_small_jws(client: TestClient, provider_gateways: Gateways) -> None:
    token = signed_use(provider_gateways[CHIYODA], use(str(uuid.uuid4())))
    wrong_type = client.post(
        "/mesh/consents/use", content=token, headers={"Content-Type": "application/json"}
    )
    _problem(wrong_type, 415, "unsupported-media-type")
    _problem(post_use(client, b"x" * (16 * 1024 + 1)), 413, "mesh/payload-too-large")
    _problem(post_use(client, b"not a JWS"), 401, "mesh/invalid-signature")


def test_the_route_is_described_in_the_api(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/mesh/consents/use"]["post"]
    assert "application/jose" in operation["requestBody"]["content"]
    assert "403" in operation["responses"]


def test_the_service_of_the_use_is_compared_whole(
    client: TestClient, db_session: Session, provider_gateways: Gateways
) -> None:
    """Another version of the service is another service."""
    consent_id = grant(db_session)
    v2 = str(CERTIFICATE).removesuffix("/v1") + "/v2"
    assert _refused(client, provider_gateways, use(consent_id, service=v2)) == (
        "the consent is for another service"
    )
