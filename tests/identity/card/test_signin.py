"""Card sign-in through the pages and the device API, as a browser and a phone make it."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from identity.card.conftest import Holder
from kiban.core.audit import AuditEvent
from kiban.core.config import Settings
from kiban.core.csrf import CSRF_COOKIE
from kiban.core.sessions import SESSION_COOKIE, AuthSession
from kiban.core.throttle import Locked
from kiban.identity.ca.models import RevocationReason
from kiban.identity.ca.service import CertificateRegister
from kiban.identity.card.models import CardSignInRequest
from kiban.identity.card.pages import BROWSER_COOKIE
from kiban.identity.card.protocol import b64url, origin_of
from kiban.identity.card.service import (
    COMPLETION_GRACE,
    FAILURES_PER_REQUEST,
    SIGNIN_LIFETIME,
    CardSignInService,
    SignInRefused,
)
from kiban.residents.codes import ResidentStatus

ORIGIN = "http://127.0.0.1:8000"  # the settings' public_url: what the device signs


def start(client: TestClient, next_path: str = "/mypage") -> str:
    """Open the chooser, start card sign-in; the code the waiting page shows."""
    chooser = client.get("/signin", params={"next": next_path})
    assert chooser.status_code == 200
    token = client.cookies[CSRF_COOKIE]
    started = client.post(
        "/signin/card",
        data={"csrf_token": token, "next": next_path},
        follow_redirects=False,
    )
    assert started.status_code == 303, started.text
    code = started.headers["location"].rsplit("/", 1)[-1]
    assert client.cookies.get(BROWSER_COOKIE)
    return code


def device_fetch(client: TestClient, code: str) -> dict[str, str]:
    found = client.get(f"/card/signin-requests/{code}")
    assert found.status_code == 200, found.text
    body: dict[str, str] = found.json()
    return body


def approve(client: TestClient, holder: Holder, code: str) -> int:
    challenge = device_fetch(client, code)["challenge"]
    response = client.post(
        f"/card/signin-requests/{code}/approval", json=holder.approval(ORIGIN, code, challenge)
    )
    return response.status_code


def test_sign_in_page_approve_then_session(
    client: TestClient, db_session: Session, holder: Holder
) -> None:
    code = start(client)
    waiting = client.get(f"/signin/card/{code}")
    assert waiting.status_code == 200
    assert f"{code[:4]}-{code[4:]}" in waiting.text
    assert "<svg" in waiting.text
    assert 'http-equiv="refresh"' not in waiting.text  # WCAG F41: no automatic refresh
    assert client.get(f"/signin/card/{code}/status").json() == {"waiting": True}
    assert "/business/signin?next=" in client.get("/signin").text

    request = device_fetch(client, code)
    assert request["origin"] == ORIGIN
    assert request["message"].endswith(f"challenge={request['challenge']}")
    assert len(request["challenge"]) == 43  # 32 bytes, base64url
    assert approve(client, holder, code) == 200

    assert client.get(f"/signin/card/{code}/status").json() == {"waiting": False}
    browser_secret = client.cookies[BROWSER_COOKIE]
    done = client.get(f"/signin/card/{code}", follow_redirects=False)
    assert done.status_code == 303
    assert done.headers["location"] == "/mypage"
    token = client.cookies.get(SESSION_COOKIE)
    assert token
    auth_session = db_session.scalars(select(AuthSession)).one()
    resident = holder.resident
    assert auth_session.subject_id == f"{resident.tenant_code}:{resident.addressee_number}"
    assert auth_session.tenant_code == resident.tenant_code
    assert (auth_session.acr, auth_session.amr_values) == ("aal3", ["swk", "pin"])
    assert auth_session.subject_kind == "resident"
    actions = db_session.scalars(
        select(AuditEvent.action).where(AuditEvent.outcome == "success")
    ).all()
    assert {"card.approve", "card.sign_in"} <= set(actions)
    # Picked up once: even with its secret, the request cannot start a second session.
    assert BROWSER_COOKIE not in client.cookies
    client.cookies.set(BROWSER_COOKIE, browser_secret, path="/signin/card")
    again = client.get(f"/signin/card/{code}", follow_redirects=False)
    assert again.status_code == 409


def test_each_step_of_a_sign_in_is_few_statements(
    client: TestClient, db_session: Session, holder: Holder
) -> None:
    """The busiest path, kept lean: on PostgreSQL each change and what records it (audit
    event, session) is one statement, which needs no transaction around it."""
    engine = db_session.get_bind().engine
    counted: list[str] = []

    def count(_connection: object, _cursor: object, statement: str, *_: object) -> None:
        counted.append(statement)

    def statements(step: Callable[[], object]) -> int:
        counted.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            step()
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(counted)

    code = start(client)  # the first request of the test warms the caches
    assert statements(lambda: start(client)) == 1
    code = start(client)
    # Elsewhere the change and its records are a statement each, in one transaction.
    together = engine.dialect.name == "postgresql"
    # The device's fetch 1; the approval: the request, the certificate, the change.
    assert statements(lambda: approve(client, holder, code)) == (4 if together else 5)
    # The request, then the change with the session and its audit event.
    assert statements(lambda: client.get(f"/signin/card/{code}")) == (2 if together else 4)
    assert client.cookies.get(SESSION_COOKIE)


def test_seeing_the_code_is_not_enough_to_take_the_session(
    client: TestClient, app: object, holder: Holder
) -> None:
    code = start(client)
    assert approve(client, holder, code) == 200
    with TestClient(app, base_url="https://testserver") as onlooker:  # type: ignore[arg-type]
        taken = onlooker.get(f"/signin/card/{code}", follow_redirects=False)
        assert taken.status_code == 403
        assert onlooker.get(f"/signin/card/{code}/status").status_code == 403
        assert SESSION_COOKIE not in onlooker.cookies
        onlooker.cookies.set(BROWSER_COOKIE, "guessed", path="/signin/card")
        assert onlooker.get(f"/signin/card/{code}", follow_redirects=False).status_code == 403
    assert client.get(f"/signin/card/{code}", follow_redirects=False).status_code == 303


def test_next_may_only_be_a_local_path(client: TestClient, db_session: Session) -> None:
    for hostile in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:x"):
        start(client, hostile)
    stored = db_session.scalars(select(CardSignInRequest.next_path)).all()
    assert stored == ["/"] * 4


def test_replayed_challenge_is_refused(client: TestClient, holder: Holder) -> None:
    code = start(client)
    challenge = device_fetch(client, code)["challenge"]
    body = holder.approval(ORIGIN, code, challenge)
    assert client.post(f"/card/signin-requests/{code}/approval", json=body).status_code == 200
    replay = client.post(f"/card/signin-requests/{code}/approval", json=body)
    assert replay.status_code == 409
    assert replay.json()["type"].endswith("/signin-request-used")


def _services(
    db_session: Session, settings: Settings, moment: Callable[[], datetime]
) -> CardSignInService:
    return CardSignInService(db_session, settings, now=moment)


def test_expired_challenge_is_refused(
    db_session: Session, settings: Settings, holder: Holder
) -> None:
    clock = [datetime.now(UTC)]
    service = _services(db_session, settings, lambda: clock[0])
    started = service.start("/")
    request = started.request
    clock[0] += SIGNIN_LIFETIME + timedelta(seconds=1)
    with pytest.raises(SignInRefused) as refused:
        service.approve(
            request.code,
            holder.certificate_pem,
            holder.signature(ORIGIN, request.code, request.challenge),
            client_ip="192.0.2.1",
        )
    assert refused.value.slug == "signin-request-expired"
    assert refused.value.keep_changes


def _refusal(client: TestClient, code: str, body: dict[str, str]) -> dict[str, str]:
    response = client.post(f"/card/signin-requests/{code}/approval", json=body)
    assert response.status_code in {401, 403, 409, 410, 422}, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, str] = response.json()
    return problem


def test_signature_by_another_key_is_refused(client: TestClient, holder: Holder) -> None:
    code = start(client)
    challenge = device_fetch(client, code)["challenge"]
    other = ec.generate_private_key(ec.SECP256R1())
    from kiban.identity.card.protocol import signin_message

    forged = other.sign(signin_message(ORIGIN, code, challenge), ec.ECDSA(hashes.SHA256()))
    problem = _refusal(
        client, code, {"certificate": holder.certificate_pem, "signature": b64url(forged)}
    )
    assert problem["type"].endswith("/invalid-signature")


def test_signature_for_another_site_is_refused(client: TestClient, holder: Holder) -> None:
    code = start(client)
    challenge = device_fetch(client, code)["challenge"]
    body = holder.approval("https://phishing.example", code, challenge)
    assert _refusal(client, code, body)["type"].endswith("/invalid-signature")


def _self_made_certificate(key: ec.EllipticCurvePrivateKey, like: x509.Certificate) -> str:
    """A certificate that copies ours, subject, issuer name and all, but is signed by a stranger."""
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(like.subject)
        .issuer_name(like.issuer)
        .public_key(key.public_key())
        .serial_number(like.serial_number)
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=1))
    )
    for extension in like.extensions:
        builder = builder.add_extension(extension.value, extension.critical)
    certificate = builder.sign(ec.generate_private_key(ec.SECP256R1()), hashes.SHA256())
    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


def test_certificate_from_another_ca_is_refused(client: TestClient, holder: Holder) -> None:
    code = start(client)
    challenge = device_fetch(client, code)["challenge"]
    body = holder.approval(ORIGIN, code, challenge)
    body["certificate"] = _self_made_certificate(
        holder.key, holder.certificates.authentication.certificate
    )
    assert _refusal(client, code, body)["type"].endswith("/unknown-issuer")


def test_revoked_certificate_is_refused(
    client: TestClient, db_session: Session, holder: Holder
) -> None:
    CertificateRegister(db_session).revoke(
        holder.certificates.authentication.record.serial_number,
        RevocationReason.KEY_COMPROMISE,
        actor="test",
    )
    code = start(client)
    challenge = device_fetch(client, code)["challenge"]
    problem = _refusal(client, code, holder.approval(ORIGIN, code, challenge))
    assert problem["type"].endswith("/certificate-revoked")
    failures = db_session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "card.approve", AuditEvent.outcome == "failure"
        )
    ).all()
    assert [event.details for event in failures] == [
        {"reason": "certificate-revoked", "code": code}
    ]


def test_expired_certificate_is_refused(
    db_session: Session, settings: Settings, holder: Holder
) -> None:
    after = holder.certificates.authentication.certificate.not_valid_after_utc
    clock = [after + timedelta(seconds=1)]
    service = _services(db_session, settings, lambda: clock[0])
    request = service.start("/").request
    with pytest.raises(SignInRefused) as refused:
        service.approve(
            request.code,
            holder.certificate_pem,
            holder.signature(ORIGIN, request.code, request.challenge),
            client_ip="192.0.2.1",
        )
    assert refused.value.slug == "certificate-expired"


def test_a_holder_who_moved_out_cannot_sign_in(
    client: TestClient, db_session: Session, holder: Holder
) -> None:
    holder.resident.status = ResidentStatus.MOVED_OUT.value  # certificates not (yet) revoked
    db_session.flush()
    code = start(client)
    challenge = device_fetch(client, code)["challenge"]
    assert _refusal(client, code, holder.approval(ORIGIN, code, challenge))["type"].endswith(
        "/not-a-resident"
    )


def test_repeated_failures_lock_the_request(client: TestClient, holder: Holder) -> None:
    code = start(client)
    challenge = device_fetch(client, code)["challenge"]
    wrong = holder.approval("https://elsewhere.example", code, challenge)
    for _ in range(FAILURES_PER_REQUEST):
        _refusal(client, code, wrong)
    locked = client.post(
        f"/card/signin-requests/{code}/approval", json=holder.approval(ORIGIN, code, challenge)
    )
    assert locked.status_code == 429
    assert "Retry-After" in locked.headers


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/card/signin-requests/abc", None, 422),
        ("/card/signin-requests/ZZZZ-ZZZU", None, 422),
        ("/card/signin-requests/ZZZZ-ZZZZ", None, 404),
        ("/card/signin-requests/ZZZZZZZZ/approval", {"certificate": "x", "signature": "AA"}, 404),
        ("/card/signin-requests/ZZZZZZZZ/approval", {"certificate": "x"}, 422),
        ("/card/signin-requests/ZZZZZZZZ/approval", {"certificate": "x", "signature": "a b"}, 422),
        ("/card/signin-requests/ZZZZZZZZ/approval", {"certificate": "", "signature": "AA"}, 422),
        (
            "/card/signin-requests/ZZZZZZZZ/approval",
            {"certificate": "x", "signature": "AA", "x": 1},
            422,
        ),
    ],
)
def test_device_api_bad_input_is_a_problem(
    client: TestClient, path: str, body: dict[str, object] | None, status: int
) -> None:
    response = client.get(path) if body is None else client.post(path, json=body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_device_api_garbage_certificate_and_signature(client: TestClient, holder: Holder) -> None:
    code = start(client)
    problem = _refusal(
        client, code, {"certificate": "-----BEGIN CERTIFICATE-----\nxx", "signature": "AA"}
    )
    assert problem["type"].endswith("/invalid-certificate")
    challenge = device_fetch(client, code)["challenge"]
    body = holder.approval(ORIGIN, code, challenge)
    body["signature"] = "AAAA"
    assert _refusal(client, code, body)["type"].endswith("/invalid-signature")
    assert approve(client, holder, code) == 200  # the failures did not use the request up


def test_pages_bad_input(client: TestClient) -> None:
    client.get("/signin")
    no_token = client.post("/signin/card", data={"next": "/"}, follow_redirects=False)
    assert no_token.status_code == 403
    assert client.get("/signin/card/not-a-code", headers={"accept": "text/html"}).status_code == 403
    assert client.get("/demo/wallet").status_code == 404  # off unless configured


def test_code_typed_by_a_person(client: TestClient) -> None:
    code = start(client)
    typed = f"{code[:4].lower()}-{code[4:]}"
    assert client.get(f"/card/signin-requests/{typed}").status_code == 200


def test_origin_is_the_public_url(settings: Settings) -> None:
    assert origin_of(settings.public_url) == ORIGIN
    assert re.fullmatch(r"https?://[^/]+", ORIGIN)


def test_a_code_is_reused_only_once_its_request_is_long_dead(
    db_session: Session, settings: Settings, holder: Holder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Codes are random; when one is drawn again, a live request keeps it."""
    drawn = iter(["AAAA2222", "AAAA2222", "BBBB3333", "AAAA2222"])
    monkeypatch.setattr("kiban.identity.card.service.new_code", lambda: next(drawn))
    clock = [datetime.now(UTC)]
    service = _services(db_session, settings, lambda: clock[0])
    first = service.start("/first").request
    signature = holder.signature(ORIGIN, first.code, first.challenge)
    service.approve(first.code, holder.certificate_pem, signature, client_ip="192.0.2.1")
    clock[0] += SIGNIN_LIFETIME  # expired, but its browser may still pick it up
    assert service.start("/second").request.code == "BBBB3333"
    kept = service.requests.get("AAAA2222")
    assert kept is not None
    assert (kept.status, kept.challenge) == ("approved", first.challenge)
    clock[0] += COMPLETION_GRACE
    third = service.start("/third").request
    assert third.code == "AAAA2222"
    stored = service.requests.get("AAAA2222")
    assert stored == third
    assert (stored.status, stored.tenant_code, stored.certificate_serial) == ("pending", None, None)
    assert stored.challenge != first.challenge


def test_a_lock_outlives_its_request(
    db_session: Session, settings: Settings, holder: Holder
) -> None:
    service = CardSignInService(db_session, settings)
    code = service.start("/").request.code
    for attempt in range(FAILURES_PER_REQUEST):
        with pytest.raises(SignInRefused):
            service.approve(code, holder.certificate_pem, b"0", client_ip=f"192.0.2.{attempt}")
    service.requests.purge_expired(datetime.now(UTC) + timedelta(hours=1))
    assert service.requests.get(code) is None
    with pytest.raises(Locked):
        service.approve(code, holder.certificate_pem, b"0", client_ip="192.0.2.99")
