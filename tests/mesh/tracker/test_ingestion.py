"""A provider's gateway hands in its records: signed, checked, stored whole or not at all."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kiban.identity.ca.models import RevocationReason
from kiban.identity.ca.service import CertificateRegister
from kiban.mesh.gateway.protocol import Signer
from kiban.mesh.identifiers import MemberId
from kiban.mesh.tracker.models import MeshDataUse
from mesh.tracker.tracker_support import (
    CERTIFICATE,
    CHIYODA,
    HACHIOJI,
    HACHIOJI_CERTIFICATE,
    HANAKO,
    TARO,
    TYPE,
    Gateway,
    SetClock,
    batch,
    post_batch,
    use,
)

PROBLEMS = "https://kiban.example/problems/"


def _stored(db_session: Session) -> int:
    return db_session.scalar(select(func.count()).select_from(MeshDataUse)) or 0


def _problem(response: Any, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["type"] == PROBLEMS + slug
    return body


def test_a_signed_batch_is_stored_and_sending_it_again_changes_nothing(
    client: TestClient, db_session: Session, gateways: dict[MemberId, Gateway]
) -> None:
    chiyoda = gateways[CHIYODA]
    first, second = use(), use(subject=TARO, user_id=None, legal_basis="番号法第19条第8号")
    token = chiyoda.sign(batch([first, second]))

    answered = post_batch(client, token)
    assert answered.status_code == 200, answered.text
    assert answered.json() == {"accepted": 2, "duplicates": 0}
    stored = db_session.get(MeshDataUse, ("LG", "131016", first["message_id"]))
    assert stored is not None
    assert (str(stored.service), str(stored.client), stored.subject) == (
        first["service"],
        first["client"],
        HANAKO,
    )
    assert (stored.user_id, stored.purpose, stored.legal_basis) == (
        "tax-001",
        "tax-assessment",
        "地方税法第294条",
    )
    assert stored.used_at.replace(tzinfo=UTC) == datetime(2026, 3, 1, 1, 15, tzinfo=UTC)
    assert stored.hidden_until is None

    # At least once: the gateway did not hear the answer and sends the same batch again.
    assert post_batch(client, token).json() == {"accepted": 0, "duplicates": 2}
    # A later batch repeats one record and brings a new one.
    later = chiyoda.sign(batch([second, use()]))
    assert post_batch(client, later).json() == {"accepted": 1, "duplicates": 1}
    assert _stored(db_session) == 3


def test_what_a_gateways_signer_makes_is_accepted(
    client: TestClient, db_session: Session, gateways: dict[MemberId, Gateway]
) -> None:
    """The gateways sign with ``Signer.sign``: the header the contract names, and no other."""
    chiyoda = gateways[CHIYODA]
    record = use()
    token = Signer(chiyoda.key, chiyoda.serial).sign(TYPE, batch([record]))
    assert post_batch(client, token).json() == {"accepted": 1, "duplicates": 0}
    stored = db_session.get(MeshDataUse, ("LG", "131016", record["message_id"]))
    assert stored is not None
    assert stored.service == CERTIFICATE


def test_a_record_repeated_within_a_batch_is_one_record(
    client: TestClient, db_session: Session, gateways: dict[MemberId, Gateway]
) -> None:
    record = use()
    answered = post_batch(client, gateways[CHIYODA].sign(batch([record, record])))
    assert answered.json() == {"accepted": 1, "duplicates": 1}
    assert _stored(db_session) == 1


@pytest.mark.parametrize("within_the_batch", [False, True])
def test_other_facts_under_a_stored_message_id_are_refused_not_dropped(
    client: TestClient,
    db_session: Session,
    gateways: dict[MemberId, Gateway],
    within_the_batch: bool,
) -> None:
    chiyoda = gateways[CHIYODA]
    original = use()
    if not within_the_batch:
        assert post_batch(client, chiyoda.sign(batch([original]))).status_code == 200
    other = {**original, "subject": TARO}
    records = [use(), original, other] if within_the_batch else [use(), other]
    body = _problem(
        post_batch(client, chiyoda.sign(batch(records))), 409, "mesh/conflicting-data-use"
    )
    index = len(records) - 1
    assert body["errors"] == [
        {
            "record": index,
            "field": "message_id",
            "message": f"{original['message_id']} is recorded already with other facts:"
            " a message id names one exchange",
        }
    ]
    assert _stored(db_session) == (0 if within_the_batch else 1)


def test_a_signature_that_does_not_hold_is_refused(
    client: TestClient, db_session: Session, gateways: dict[MemberId, Gateway]
) -> None:
    chiyoda = gateways[CHIYODA]
    # Signed with another key, naming 千代田区's certificate.
    impostor = Gateway(CHIYODA, ec.generate_private_key(ec.SECP256R1()), chiyoda.serial)
    body = _problem(
        post_batch(client, impostor.sign(batch([use()]))), 401, "mesh/invalid-signature"
    )
    assert body["detail"] == f"the signature does not verify with certificate {chiyoda.serial}"

    # A valid signature over another payload.
    header, _payload, signature = chiyoda.sign(batch([use()])).split(".")
    _header, payload, _signature = chiyoda.sign(batch([use(), use()])).split(".")
    _problem(post_batch(client, f"{header}.{payload}.{signature}"), 401, "mesh/invalid-signature")

    for token, detail in (
        ("not a JWS", "the body is not a compact JWS"),
        (
            chiyoda.sign(batch([use()]), typ="kiban-mesh-request+jwt"),
            "the body is not a kiban-mesh-data-uses+jwt signed with ES256",
        ),
    ):
        body = _problem(post_batch(client, token), 401, "mesh/invalid-signature")
        assert body["detail"] == detail
    assert _stored(db_session) == 0


def test_an_unknown_or_revoked_certificate_is_refused(
    client: TestClient, db_session: Session, gateways: dict[MemberId, Gateway]
) -> None:
    chiyoda = gateways[CHIYODA]
    unknown = Gateway(CHIYODA, chiyoda.key, "7" * 32)
    body = _problem(
        post_batch(client, unknown.sign(batch([use()]))), 401, "mesh/unknown-certificate"
    )
    assert body["detail"] == f"no organisation certificate has serial {'7' * 32}"
    body = _problem(
        post_batch(client, chiyoda.sign(batch([use()]), kid="not hex")),
        401,
        "mesh/unknown-certificate",
    )
    assert body["detail"] == "kid must be the signing certificate's serial, in hex"

    CertificateRegister(db_session).revoke(
        chiyoda.serial, RevocationReason.KEY_COMPROMISE, actor="operator"
    )
    body = _problem(
        post_batch(client, chiyoda.sign(batch([use()]))), 401, "mesh/unknown-certificate"
    )
    assert body["detail"].startswith(
        f"certificate {chiyoda.serial}: The certificate has been revoked"
    )
    assert _stored(db_session) == 0


@pytest.mark.parametrize("days", [-1, 6 * 366])
def test_a_certificate_outside_its_validity_is_refused(
    client: TestClient,
    db_session: Session,
    gateways: dict[MemberId, Gateway],
    set_clock: SetClock,
    days: int,
) -> None:
    set_clock(datetime.now(UTC) + timedelta(days=days))
    body = _problem(
        post_batch(client, gateways[CHIYODA].sign(batch([use()]))), 401, "mesh/unknown-certificate"
    )
    assert "not valid at this time" in body["detail"]
    assert _stored(db_session) == 0


def test_a_gateway_records_only_for_its_own_member(
    client: TestClient, db_session: Session, gateways: dict[MemberId, Gateway]
) -> None:
    hachioji = gateways[HACHIOJI]
    # 八王子市's gateway claims to be 千代田区's.
    body = _problem(
        post_batch(client, hachioji.sign(batch([use()], provider=CHIYODA))),
        401,
        "mesh/invalid-signature",
    )
    assert body["detail"] == (
        f"the batch is JP/LG/131016's, and signed with JP/LG/132012's certificate {hachioji.serial}"
    )
    # 千代田区's gateway records a use of 八王子市's service.
    records = [use(), use(service=str(HACHIOJI_CERTIFICATE))]
    body = _problem(
        post_batch(client, gateways[CHIYODA].sign(batch(records))),
        403,
        "mesh/not-the-providers-service",
    )
    assert body["errors"] == [
        {
            "record": 1,
            "field": "service",
            "message": f"{HACHIOJI_CERTIFICATE} is not a service of JP/LG/131016",
        }
    ]
    assert _stored(db_session) == 0


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"message_id": "42"}, "message_id", "Input should be a valid UUID"),
        ({"subject": ""}, "subject", "String should have at least 1 character"),
        ({"subject": "1" * 65}, "subject", "at most 64 characters"),
        ({"subject": "0000000017\t"}, "subject", "must be printable text"),
        ({"service": "JP/LG/131016/juki"}, "service", "is not of the form"),
        ({"client": "JP/LG/131016"}, "client", "is not of the form"),
        ({"purpose": "Tax Assessment"}, "purpose", "purpose code 'Tax Assessment'"),
        ({"legal_basis": "法" * 257}, "legal_basis", "at most 256 characters"),
        ({"legal_basis": "地方税法\n第294条"}, "legal_basis", "must be printable text"),
        ({"user_id": 7}, "user_id", "Input should be a valid string"),
        ({"used_at": "2026-03-01T10:15:00"}, "used_at", "Input should have timezone info"),
        ({"used_at": 1772327700}, "used_at", "Input should be a valid datetime"),
        ({"used_at": "2999-01-01T00:00:00Z"}, "used_at", "is in the future"),
        ({"response_body": "山田花子"}, "response_body", "Extra inputs are not permitted"),
        ({"purpose": None}, "purpose", "Input should be a valid string"),
    ],
)
def test_a_malformed_record_is_named_and_nothing_is_stored(
    client: TestClient,
    db_session: Session,
    gateways: dict[MemberId, Gateway],
    change: dict[str, Any],
    field: str,
    message: str,
) -> None:
    response = post_batch(client, gateways[CHIYODA].sign(batch([use(), use(**change)])))
    body = _problem(response, 400, "mesh/invalid-data-uses")
    first = body["errors"][0]
    assert (first["record"], first["field"]) == (1, field)
    assert message in first["message"]
    assert body["detail"].startswith(f"record 1, {field}: ")
    assert _stored(db_session) == 0
    # The values are never repeated back: they may be a person's.
    assert "山田花子" not in response.text
    assert "1" * 65 not in response.text


def test_a_missing_field_is_named(client: TestClient, gateways: dict[MemberId, Gateway]) -> None:
    record = use()
    del record["legal_basis"]
    body = _problem(
        post_batch(client, gateways[CHIYODA].sign(batch([record]))), 400, "mesh/invalid-data-uses"
    )
    assert body["errors"] == [{"record": 0, "field": "legal_basis", "message": "Field required"}]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (batch([]), "records"),
        (batch([use() for _ in range(1001)]), "records"),
        ({**batch([use()]), "issued_at": "now"}, "issued_at"),
        ({**batch([use()]), "provider": "JP/LG/131017"}, "provider"),
    ],
)
def test_a_malformed_batch_is_named(
    client: TestClient, gateways: dict[MemberId, Gateway], payload: dict[str, Any], field: str
) -> None:
    body = _problem(
        post_batch(client, gateways[CHIYODA].sign(payload)), 400, "mesh/invalid-data-uses"
    )
    assert (body["errors"][0]["record"], body["errors"][0]["field"]) == (None, field)


def test_a_thousand_records_are_one_batch(
    client: TestClient, db_session: Session, gateways: dict[MemberId, Gateway]
) -> None:
    records = [use(legal_basis="番号法第19条第8号" * 20, user_id="職員" * 100) for _ in range(1000)]
    answered = post_batch(client, gateways[CHIYODA].sign(batch(records)))
    assert answered.json() == {"accepted": 1000, "duplicates": 0}
    assert _stored(db_session) == 1000


def test_a_batch_issued_ahead_of_the_platforms_clock_is_refused(
    client: TestClient, db_session: Session, gateways: dict[MemberId, Gateway]
) -> None:
    chiyoda = gateways[CHIYODA]
    ahead = chiyoda.sign(batch([use()], issued_at=int(time.time()) + 3600))
    body = _problem(post_batch(client, ahead), 401, "mesh/stale-request")
    assert "seconds ahead of the platform's clock" in body["detail"]
    # An old batch is a resend, delayed: it is taken.
    old = chiyoda.sign(batch([use()], issued_at=int(time.time()) - 86400))
    assert post_batch(client, old).json() == {"accepted": 1, "duplicates": 0}
    assert _stored(db_session) == 1


def test_the_body_must_be_a_jws_of_bounded_size(
    client: TestClient, gateways: dict[MemberId, Gateway]
) -> None:
    token = gateways[CHIYODA].sign(batch([use()]))
    wrong_type = client.post(
        "/mesh/tracker/records", content=token, headers={"Content-Type": "application/json"}
    )
    _problem(wrong_type, 415, "unsupported-media-type")
    _problem(post_batch(client, b"x" * (8 * 1024 * 1024 + 1)), 413, "mesh/payload-too-large")


def test_the_route_is_described_in_the_api(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/mesh/tracker/records"]["post"]
    assert "application/jose" in operation["requestBody"]["content"]
