"""The published CA: certificates, the CRL and OCSP, over HTTP as relying parties fetch them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from identity.ca.ca_support import MakeResident, issue_certificates
from kiban.core.config import Settings
from kiban.identity.ca.authority import Authority
from kiban.identity.ca.models import RevocationReason
from kiban.identity.ca.service import CertificateRegister


def _issuing_key(authority: Authority) -> ec.EllipticCurvePublicKey:
    key = authority.issuing.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    return key


def test_ca_certificates_are_published(client: TestClient, authority: Authority) -> None:
    for path, certificate in (
        ("/ca/root.pem", authority.root),
        ("/ca/issuing.pem", authority.issuing),
    ):
        response = client.get(path)
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/pem-certificate-chain"
        assert x509.load_pem_x509_certificate(response.content) == certificate


def test_publication_before_ca_init_is_a_problem(client: TestClient) -> None:
    response = client.get("/ca/crl")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/ca-not-initialised")


def test_crl_lists_revoked_serials_and_verifies_under_the_issuing_ca(
    client: TestClient,
    db_session: Session,
    settings: Settings,
    authority: Authority,
    make_resident: MakeResident,
) -> None:
    revoked = issue_certificates(db_session, settings, make_resident())
    kept = issue_certificates(db_session, settings, make_resident(given="次郎"))
    CertificateRegister(db_session).revoke(
        revoked.authentication.record.serial_number,
        RevocationReason.KEY_COMPROMISE,
        actor="operator:test",
    )
    response = client.get("/ca/crl")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pkix-crl"
    crl = x509.load_der_x509_crl(response.content)
    assert crl.is_signature_valid(_issuing_key(authority))
    assert crl.issuer == authority.issuing.subject
    assert crl.next_update_utc is not None
    assert crl.next_update_utc > crl.last_update_utc
    entry = crl.get_revoked_certificate_by_serial_number(
        revoked.authentication.certificate.serial_number
    )
    assert entry is not None
    reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
    assert reason == x509.ReasonFlags.key_compromise
    assert (
        crl.get_revoked_certificate_by_serial_number(kept.authentication.certificate.serial_number)
        is None
    )


def _ask(client: TestClient, request: ocsp.OCSPRequest) -> ocsp.OCSPResponse:
    response = client.post(
        "/ca/ocsp",
        content=request.public_bytes(serialization.Encoding.DER),
        headers={"content-type": "application/ocsp-request"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/ocsp-response"
    return ocsp.load_der_ocsp_response(response.content)


def _verify(response: ocsp.OCSPResponse, authority: Authority) -> None:
    assert response.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
    assert response.signature_hash_algorithm is not None
    _issuing_key(authority).verify(
        response.signature,
        response.tbs_response_bytes,
        ec.ECDSA(response.signature_hash_algorithm),
    )


def test_ocsp_good_revoked_and_unknown_with_verifiable_signatures(
    client: TestClient,
    db_session: Session,
    settings: Settings,
    authority: Authority,
    make_resident: MakeResident,
) -> None:
    good = issue_certificates(db_session, settings, make_resident()).authentication
    revoked = issue_certificates(db_session, settings, make_resident(given="次郎")).authentication
    CertificateRegister(db_session).revoke(
        revoked.record.serial_number, RevocationReason.CESSATION_OF_OPERATION, actor="test"
    )

    request = ocsp.OCSPRequestBuilder().add_certificate(
        good.certificate, authority.issuing, hashes.SHA256()
    )
    answer = _ask(
        client, request.add_extension(x509.OCSPNonce(b"0123456789abcdef"), critical=False).build()
    )
    _verify(answer, authority)
    assert answer.certificate_status == ocsp.OCSPCertStatus.GOOD
    assert answer.serial_number == good.certificate.serial_number
    assert (
        answer.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce == b"0123456789abcdef"
    )

    answer = _ask(
        client,
        ocsp.OCSPRequestBuilder()
        .add_certificate(revoked.certificate, authority.issuing, hashes.SHA1())
        .build(),
    )
    _verify(answer, authority)
    assert answer.certificate_status == ocsp.OCSPCertStatus.REVOKED
    assert answer.revocation_reason == x509.ReasonFlags.cessation_of_operation
    assert answer.revocation_time_utc is not None

    unknown = ocsp.OCSPRequestBuilder().add_certificate_by_hash(
        answer.issuer_name_hash, answer.issuer_key_hash, 12345, hashes.SHA1()
    )
    answer = _ask(client, unknown.build())
    _verify(answer, authority)
    assert answer.certificate_status == ocsp.OCSPCertStatus.UNKNOWN


def test_ocsp_refuses_other_cas_certificates(
    client: TestClient, db_session: Session, settings: Settings, authority: Authority
) -> None:
    other = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "someone else")])
    now = datetime.now(UTC)
    foreign = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(other.public_key())
        .serial_number(7)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(other, hashes.SHA256())
    )
    answer = _ask(
        client, ocsp.OCSPRequestBuilder().add_certificate(foreign, foreign, hashes.SHA1()).build()
    )
    assert answer.response_status == ocsp.OCSPResponseStatus.UNAUTHORIZED


def test_ocsp_bad_requests_are_problems(client: TestClient, authority: Authority) -> None:
    wrong_type = client.post("/ca/ocsp", content=b"x", headers={"content-type": "text/plain"})
    assert wrong_type.status_code == 415
    assert wrong_type.headers["content-type"] == "application/problem+json"
    for body in (b"", b"not der at all", b"\x30\x03\x02\x01\x01", b"\x30" * 5000):
        response = client.post(
            "/ca/ocsp", content=body, headers={"content-type": "application/ocsp-request"}
        )
        assert response.status_code == 400, body[:10]
        assert response.headers["content-type"] == "application/problem+json"
