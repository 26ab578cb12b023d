"""Issuing resident certificates: the chain, the profiles, the age rule and the register."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from identity.ca.ca_support import MakeResident, issue_certificates, serial_of, years_ago
from kiban.core.audit import AuditEvent
from kiban.core.config import Settings
from kiban.core.errors import ProblemError
from kiban.identity.ca.authority import (
    Authority,
    AuthorityKeyError,
    ensure_authority,
    load_authority,
)
from kiban.identity.ca.models import (
    CaKey,
    CertificateKind,
    CertificateStatus,
    RevocationReason,
)
from kiban.identity.ca.profiles import BasicInformation, der_utf8_string, parse_der_utf8_string
from kiban.identity.ca.service import CertificateAuthorityService, CertificateRejected


def test_init_is_idempotent_and_keys_are_encrypted(db_session: Session, settings: Settings) -> None:
    first, created = ensure_authority(db_session, settings)
    again, created_again = ensure_authority(db_session, settings)
    assert (created, created_again) == (True, False)
    assert again.issuing_fingerprint == first.issuing_fingerprint
    assert first.root.subject == first.root.issuer  # self-signed root
    first.root.verify_directly_issued_by(first.root)
    first.issuing.verify_directly_issued_by(first.root)
    assert first.issuing.not_valid_after_utc <= first.root.not_valid_after_utc
    assert b"ENCRYPTED PRIVATE KEY" in first.encrypted_issuing_key
    root_key = first.root.public_key()
    assert isinstance(root_key, ec.EllipticCurvePublicKey)
    assert root_key.curve.name == "secp256r1"


def test_another_secret_key_cannot_use_the_ca(
    db_session: Session, settings: Settings, authority: Authority
) -> None:
    stranger = settings.model_copy(update={"secret_key": "not the deployment's key"})
    with pytest.raises(AuthorityKeyError):
        load_authority(db_session).issuing_key(stranger)


def test_issue_and_verify_the_chain(
    db_session: Session, settings: Settings, authority: Authority, make_resident: MakeResident
) -> None:
    resident = make_resident()
    issued = issue_certificates(db_session, settings, resident)
    assert issued.signing is not None
    for certificate in (issued.authentication.certificate, issued.signing.certificate):
        certificate.verify_directly_issued_by(authority.issuing)
        assert certificate.not_valid_after_utc <= authority.issuing.not_valid_after_utc
        lifetime = certificate.not_valid_after_utc - certificate.not_valid_before_utc
        assert timedelta(days=5 * 365) <= lifetime <= timedelta(days=5 * 365, minutes=10)
    record = issued.authentication.record
    assert (record.tenant_code, record.addressee_number) == (
        resident.tenant_code,
        resident.addressee_number,
    )
    assert record.serial_number == serial_of(issued.authentication.certificate)
    assert record.status == CertificateStatus.VALID
    verified = CertificateAuthorityService(db_session, settings).verify_holder_certificate(
        issued.authentication.certificate, CertificateKind.AUTHENTICATION
    )
    assert verified.serial_number == record.serial_number
    actions = db_session.scalars(
        select(AuditEvent.details).where(AuditEvent.action == "certificate.issue")
    ).all()
    assert {"serial": record.serial_number, "kind": "auth"} in actions


def test_signing_certificate_carries_the_four_basic_items(
    db_session: Session, settings: Settings, authority: Authority, make_resident: MakeResident
) -> None:
    issued = issue_certificates(db_session, settings, make_resident())
    assert issued.signing is not None
    certificate = issued.signing.certificate
    assert BasicInformation.from_certificate(certificate) == BasicInformation(
        name="山田 花子",
        address="東京都千代田区霞が関一丁目1-3",
        birth_date=datetime(1980, 5, 1).date(),
        sex="2",
    )
    key_usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert key_usage.content_commitment  # non-repudiation: it signs documents


def test_under_15_gets_no_signing_certificate(
    db_session: Session, settings: Settings, authority: Authority, make_resident: MakeResident
) -> None:
    child = make_resident(birth_date=years_ago(14), given="太郎")
    fifteen = make_resident(birth_date=years_ago(15) - timedelta(days=1), given="次郎")
    assert issue_certificates(db_session, settings, child).signing is None
    assert issue_certificates(db_session, settings, fifteen).signing is not None


def test_authentication_certificate_has_no_personal_data(
    db_session: Session, settings: Settings, authority: Authority, make_resident: MakeResident
) -> None:
    resident = make_resident()
    certificate = issue_certificates(db_session, settings, resident).authentication.certificate
    with pytest.raises(x509.ExtensionNotFound):
        certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    der = certificate.tbs_certificate_bytes
    for personal in ("山田", "花子", "ヤマダ", "1980", "霞が関", resident.addressee_number):
        assert personal.encode("utf-8") not in der
    usages = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usages) == [ExtendedKeyUsageOID.CLIENT_AUTH]


def test_a_new_card_supersedes_the_old_one(
    db_session: Session, settings: Settings, authority: Authority, make_resident: MakeResident
) -> None:
    resident = make_resident()
    old = issue_certificates(db_session, settings, resident)
    issue_certificates(db_session, settings, resident)
    assert old.authentication.record.status == CertificateStatus.REVOKED
    assert old.authentication.record.revocation_reason == RevocationReason.SUPERSEDED


def test_validity_is_enforced_at_verification(
    db_session: Session, settings: Settings, authority: Authority, make_resident: MakeResident
) -> None:
    certificate = issue_certificates(
        db_session, settings, make_resident()
    ).authentication.certificate
    later = certificate.not_valid_after_utc + timedelta(seconds=1)
    service = CertificateAuthorityService(db_session, settings, now=lambda: later)
    with pytest.raises(CertificateRejected) as rejected:
        service.verify_holder_certificate(certificate, CertificateKind.AUTHENTICATION)
    assert rejected.value.slug == "certificate-expired"
    earlier = certificate.not_valid_before_utc - timedelta(seconds=1)
    service = CertificateAuthorityService(db_session, settings, now=lambda: earlier)
    with pytest.raises(CertificateRejected):
        service.verify_holder_certificate(certificate, CertificateKind.AUTHENTICATION)


def test_signing_certificate_is_not_an_authentication_certificate(
    db_session: Session, settings: Settings, authority: Authority, make_resident: MakeResident
) -> None:
    signing = issue_certificates(db_session, settings, make_resident()).signing
    assert signing is not None
    service = CertificateAuthorityService(db_session, settings)
    with pytest.raises(CertificateRejected) as rejected:
        service.verify_holder_certificate(signing.certificate, CertificateKind.AUTHENTICATION)
    assert rejected.value.slug == "wrong-certificate-kind"


def test_organisation_certificate_for_a_mesh_member(
    db_session: Session, settings: Settings, authority: Authority
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    issued = CertificateAuthorityService(db_session, settings).issue_organisation_certificate(
        "JP/LG/131016", "千代田区", key.public_key(), actor="test"
    )
    issued.certificate.verify_directly_issued_by(authority.issuing)
    assert issued.record.member_code == "JP/LG/131016"
    assert issued.record.tenant_code is None
    common_name = issued.certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    assert common_name[0].value == "JP/LG/131016"


def test_operator_revocation(
    db_session: Session, settings: Settings, authority: Authority, make_resident: MakeResident
) -> None:
    issued = issue_certificates(db_session, settings, make_resident())
    service = CertificateAuthorityService(db_session, settings)
    record = service.register.revoke(
        issued.authentication.record.serial_number.upper(),
        RevocationReason.KEY_COMPROMISE,
        actor="operator:test",
    )
    assert record.status == CertificateStatus.REVOKED
    assert record.revoked_at is not None
    with pytest.raises(CertificateRejected) as rejected:
        service.verify_holder_certificate(
            issued.authentication.certificate, CertificateKind.AUTHENTICATION
        )
    assert rejected.value.slug == "certificate-revoked"
    with pytest.raises(ProblemError, match="already revoked"):
        service.register.revoke(record.serial_number, RevocationReason.UNSPECIFIED, actor="x")
    with pytest.raises(ProblemError):
        service.register.revoke("not-a-serial", RevocationReason.UNSPECIFIED, actor="x")
    assert datetime.now(UTC) >= record.revoked_at.replace(tzinfo=record.revoked_at.tzinfo or UTC)


@given(st.text(max_size=400))
def test_utf8_string_round_trip(text: str) -> None:
    """The otherName values read back exactly, short (one length byte) or long."""
    assert parse_der_utf8_string(der_utf8_string(text)) == text


@given(st.binary(max_size=40))
def test_utf8_string_parser_refuses_garbage_cleanly(data: bytes) -> None:
    with contextlib.suppress(ValueError):  # UnicodeDecodeError is one
        parse_der_utf8_string(data)


def test_a_replaced_ca_no_longer_vouches_for_what_it_issued(
    db_session: Session, settings: Settings, authority: Authority, make_resident: MakeResident
) -> None:
    """The process keeps CAs in memory; the database still decides which one is current."""
    old = issue_certificates(db_session, settings, make_resident()).authentication.certificate
    kind = CertificateKind.AUTHENTICATION
    CertificateAuthorityService(db_session, settings).verify_holder_certificate(old, kind)
    db_session.execute(delete(CaKey))
    replacement, created = ensure_authority(db_session, settings)
    assert created
    assert replacement.issuing_fingerprint != authority.issuing_fingerprint
    new = issue_certificates(
        db_session, settings, make_resident(given="次郎")
    ).authentication.certificate
    for first, second in ((old, new), (new, old)):  # whichever a fresh service sees first
        service = CertificateAuthorityService(db_session, settings)
        for certificate in (first, second):
            if certificate is new:
                assert service.verify_holder_certificate(certificate, kind).status == "valid"
            else:
                with pytest.raises(CertificateRejected) as rejected:
                    service.verify_holder_certificate(certificate, kind)
                assert rejected.value.slug == "unknown-issuer"
