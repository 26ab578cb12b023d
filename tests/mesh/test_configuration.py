"""The signed global configuration: gateways accept it only whole, fresh and from the registry."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi.testclient import TestClient
from joserfc import jws
from joserfc.jwk import ECKey
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from identity.ca.ca_support import authority
from kiban.core.config import Settings
from kiban.identity.ca.authority import Authority, load_authority
from kiban.identity.ca.models import RevocationReason
from kiban.identity.ca.service import CertificateAuthorityService, CertificateRegister
from kiban.mesh.configuration import (
    LIFETIME,
    MEDIA_TYPE,
    REGISTRY,
    ConfigurationRejected,
    ConfigurationSigner,
    publish,
    verify_configuration,
)
from kiban.mesh.identifiers import MemberId, ServiceId, SubsystemId
from kiban.mesh.registry.access import AccessService, Endpoint, Grantee
from kiban.mesh.registry.models import MeshSigningKey
from kiban.mesh.registry.service import RegistrationRefused, RegistryService
from kiban_command import run_kiban_in_process
from mesh.openapi_support import register

__all__ = ["authority"]  # the CA, as a fixture

CHIYODA = MemberId.parse("JP/LG/131016")
JUKI = SubsystemId.of(CHIYODA, "juki")
CERTIFICATE = ServiceId.of(JUKI, "resident-certificate", "v1")


@pytest.fixture
def token(db_session: Session, settings: Settings, authority: Authority) -> str:
    registry = RegistryService(db_session)
    register(registry, (CHIYODA,), (JUKI,), CERTIFICATE)
    registry.request_member(MemberId.parse("JP/LG/011002"), requested_by="operator")  # pending
    AccessService(db_session).grant(
        CERTIFICATE,
        Grantee.parse(str(JUKI)),
        endpoint=Endpoint(),
        actor="operator",
        purposes=["tax-assessment", "child-allowance"],
    )
    for address in ("https://gw2.chiyoda.example.jp:5501", "https://[::1]:5501"):
        registry.add_gateway(CHIYODA, address, actor="operator")
    return publish(db_session, settings)


def _payload(token: str) -> dict[str, object]:
    segment = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))))


def test_the_configuration_holds_what_is_approved_and_verifies(
    token: str, authority: Authority
) -> None:
    verified = verify_configuration(token, authority.root)
    assert verified.expires_at - verified.issued_at == LIFETIME
    content = verified.content
    assert content["members"] == [{"id": "JP/LG/131016", "name": "千代田区"}]  # not the pending
    assert content["subsystems"] == [str(JUKI)]
    assert content["services"] == [
        {"id": str(CERTIFICATE), "title": "住民票情報", "personal_data": True}
    ]
    assert content["rights"] == [
        {
            "service": str(CERTIFICATE),
            "method": "*",
            "path": "*",
            "granted_to": "subsystem",
            "subject": str(JUKI),
            "purposes": ["child-allowance", "tax-assessment"],
        }
    ]
    assert content["gateways"] == [
        {"member": str(CHIYODA), "address": "https://[::1]:5501"},
        {"member": str(CHIYODA), "address": "https://gw2.chiyoda.example.jp:5501"},
    ]


def test_an_expired_configuration_is_refused(token: str, authority: Authority) -> None:
    later = datetime.now(UTC) + LIFETIME + timedelta(seconds=1)
    with pytest.raises(ConfigurationRejected, match=r"expired at .*: fetch a new one"):
        verify_configuration(token, authority.root, later)


def test_a_changed_configuration_is_refused(token: str, authority: Authority) -> None:
    header, _payload_segment, signature = token.split(".")
    forged = _payload(token) | {"subsystems": [str(JUKI), "JP/LG/011002/tax"]}
    segment = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
    with pytest.raises(ConfigurationRejected, match="the signature does not verify"):
        verify_configuration(f"{header}.{segment}.{signature}", authority.root)


def test_only_the_registry_under_the_trusted_root_may_sign(
    token: str, authority: Authority, db_session: Session, settings: Settings
) -> None:
    # Trusting another root: the chain does not reach it.
    with pytest.raises(ConfigurationRejected, match="not under the trusted root"):
        verify_configuration(token, authority.issuing)
    # A member's certificate from the same CA signs a configuration of its own making.
    key = ec.generate_private_key(ec.SECP256R1())
    member = CertificateAuthorityService(db_session, settings).issue_organisation_certificate(
        str(CHIYODA), "千代田区", key.public_key(), actor="test"
    )
    chain = [
        base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode()
        for certificate in (member.certificate, authority.issuing)
    ]
    header = {"alg": "ES256", "typ": "kiban-mesh-configuration+jwt", "x5c": chain}
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    registry = jws.JWSRegistry(algorithms=["ES256"])
    registry.max_header_length = 8_192
    forged = jws.serialize_compact(
        header, json.dumps(_payload(token)), ECKey.import_key(pem), registry=registry
    )
    with pytest.raises(ConfigurationRejected, match=re.escape(f"not the registry ({REGISTRY})")):
        verify_configuration(forged, authority.root)


def _header_of(claims: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()


@pytest.mark.parametrize(
    ("mangle", "reason"),
    [
        (lambda token: "not.a.jws", "not a compact JWS"),
        (lambda token: token.split(".", 1)[1], "not a compact JWS"),
        (
            lambda token: ".".join([_header_of({"alg": "none"}), *token.split(".")[1:]]),
            "signed with ES256",
        ),
        (
            lambda token: ".".join(
                [
                    _header_of({"alg": "ES256", "typ": "kiban-mesh-configuration+jwt"}),
                    *token.split(".")[1:],
                ]
            ),
            "x5c must hold",
        ),
    ],
)
def test_anything_else_is_refused_on_one_line(
    token: str, authority: Authority, mangle: Callable[[str], str], reason: str
) -> None:
    with pytest.raises(ConfigurationRejected, match=reason) as refused:
        verify_configuration(mangle(token), authority.root)
    assert "\n" not in str(refused.value)


def test_gateways_fetch_it_over_http(client: TestClient, token: str, authority: Authority) -> None:
    response = client.get("/mesh/configuration")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(MEDIA_TYPE)
    assert response.headers["cache-control"] == "no-store"
    assert verify_configuration(response.text, authority.root).content["subsystems"] == [str(JUKI)]


def test_without_a_ca_the_registry_says_it_cannot_sign(client: TestClient) -> None:
    response = client.get("/mesh/configuration")
    assert response.status_code == 503
    assert response.json()["type"].endswith("mesh-registry-not-ready")


def test_the_cli_exports_and_a_gateway_operator_verifies(
    private_engine: Engine, tmp_path: Path
) -> None:
    database = private_engine.url.render_as_string(hide_password=False)
    assert run_kiban_in_process("ca", "init", database_url=database).returncode == 0
    with Session(private_engine) as session:
        root = tmp_path / "root.pem"
        root.write_bytes(load_authority(session).root.public_bytes(serialization.Encoding.PEM))
    gateway_key = tmp_path / "gateway.pub"
    gateway_key.write_bytes(_public_pem(ec.generate_private_key(ec.SECP256R1())))
    chain = tmp_path / "gateway.pem"
    for arguments in (
        ("member", "request", "JP/LG/131016"),
        ("member", "approve", "JP/LG/131016"),
        ("member", "certificate", "JP/LG/131016", "--public-key", str(gateway_key),
         "--out", str(chain)),
    ):  # fmt: skip
        done = run_kiban_in_process("mesh", *arguments, database_url=database)
        assert done.returncode == 0, done.stderr
    assert chain.read_text(encoding="ascii").count("BEGIN CERTIFICATE") == 3  # leaf, CA, root
    printed = run_kiban_in_process(
        "mesh", "member", "certificate", "JP/LG/131016", "--public-key", str(gateway_key),
        database_url=database,
    )  # fmt: skip
    assert printed.stdout.startswith("-----BEGIN CERTIFICATE-----")
    refused = run_kiban_in_process(
        "mesh", "member", "certificate", "JP/LG/131016", "--public-key", str(chain),
        database_url=database,
    )  # fmt: skip
    assert refused.returncode == 2
    assert "not a PEM public key" in refused.stderr
    exported = tmp_path / "configuration.jws"
    done = run_kiban_in_process(
        "mesh", "configuration", "export", "--out", str(exported), database_url=database
    )
    assert done.returncode == 0, done.stderr
    verified = run_kiban_in_process(
        "mesh", "configuration", "verify", str(exported), "--root", str(root)
    )
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.startswith("valid until ")
    tampered = tmp_path / "tampered.jws"
    header, payload, signature = exported.read_text(encoding="ascii").strip().split(".")
    tampered.write_text(f"{header}.{payload[:-4]}AAAA.{signature}", encoding="ascii")
    for arguments, code, message in (
        ((str(tampered), "--root", str(root)), 1, "rejected: "),
        ((str(exported), "--root", str(exported)), 2, "is not a PEM certificate"),
        ((str(tmp_path / "none.jws"), "--root", str(root)), 2, "No such file or directory"),
    ):
        result = run_kiban_in_process("mesh", "configuration", "verify", *arguments)
        assert result.returncode == code, result.stderr
        assert message in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


def test_a_signing_certificate_about_to_end_is_replaced(
    db_session: Session, settings: Settings, authority: Authority
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, REGISTRY)])
    now = datetime.now(UTC)
    ending = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=365))
        .not_valid_after(now + timedelta(minutes=1))
        .sign(key, hashes.SHA256())
    )
    db_session.add(
        MeshSigningKey(
            kid="ending",
            certificate_pem=ending.public_bytes(serialization.Encoding.PEM).decode("ascii"),
            private_key_pem=b"never used",
            created_at=now - timedelta(days=365),
        )
    )
    db_session.flush()
    assert ConfigurationSigner(db_session, settings).key().kid != "ending"
    verify_configuration(publish(db_session, settings), authority.root)


def test_a_configuration_signed_with_a_revoked_registry_key_is_refused_and_replaced(
    token: str, db_session: Session, settings: Settings, authority: Authority
) -> None:
    ca = CertificateAuthorityService(db_session, settings)

    def revocations() -> x509.CertificateRevocationList:
        return x509.load_der_x509_crl(ca.crl())

    verify_configuration(token, authority.root, revocations=revocations())
    compromised = ConfigurationSigner(db_session, settings).key().kid
    CertificateRegister(db_session).revoke(
        compromised, RevocationReason.KEY_COMPROMISE, actor="operator"
    )
    with pytest.raises(ConfigurationRejected, match="the registry's certificate is revoked"):
        verify_configuration(token, authority.root, revocations=revocations())
    # The registry signs with a new key from then on, which gateways accept.
    assert ConfigurationSigner(db_session, settings).key().kid != compromised
    verify_configuration(publish(db_session, settings), authority.root, revocations=revocations())


def test_a_revocation_list_that_is_not_the_issuers_or_is_old_is_refused(
    token: str, db_session: Session, settings: Settings, authority: Authority
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)

    def listed(issuer: x509.Name, next_update: datetime) -> x509.CertificateRevocationList:
        return (
            x509.CertificateRevocationListBuilder()
            .issuer_name(issuer)
            .last_update(now - timedelta(days=2))
            .next_update(next_update)
            .sign(key, hashes.SHA256())
        )

    forged = listed(authority.issuing.subject, now + timedelta(days=1))
    with pytest.raises(ConfigurationRejected, match="not the issuing CA's"):
        verify_configuration(token, authority.root, revocations=forged)
    ca = CertificateAuthorityService(db_session, settings)
    ca.now = lambda: now - timedelta(days=2)
    stale = x509.load_der_x509_crl(ca.crl())
    with pytest.raises(ConfigurationRejected, match="out of date"):
        verify_configuration(token, authority.root, revocations=stale)


def _public_pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def test_an_approved_member_s_gateway_certificate_is_in_the_configuration_until_revoked(
    token: str, db_session: Session, settings: Settings, authority: Authority
) -> None:
    registry = RegistryService(db_session)
    gateway_key = ec.generate_private_key(ec.SECP256R1())
    issued = registry.issue_certificate(
        CHIYODA, _public_pem(gateway_key), settings=settings, actor="operator"
    )
    issued.certificate.verify_directly_issued_by(authority.issuing)
    names = issued.certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    assert [name.value for name in names] == [str(CHIYODA)]
    listed = verify_configuration(publish(db_session, settings), authority.root).content
    assert [(row["member"], row["serial"]) for row in listed["certificates"]] == [
        (str(CHIYODA), issued.record.serial_number)
    ]
    der = base64.b64decode(listed["certificates"][0]["der"])
    assert x509.load_der_x509_certificate(der) == issued.certificate
    CertificateRegister(db_session).revoke(
        issued.record.serial_number, RevocationReason.KEY_COMPROMISE, actor="operator"
    )
    assert (
        verify_configuration(publish(db_session, settings), authority.root).content["certificates"]
        == []
    )


@pytest.mark.parametrize(
    ("member", "public_key", "reason"),
    [
        ("JP/LG/011002", _public_pem(ec.generate_private_key(ec.SECP256R1())), "not an approved"),
        ("JP/LG/131016", _public_pem(ec.generate_private_key(ec.SECP384R1())), "EC P-256"),
        (
            "JP/LG/131016",
            _public_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048)),
            "EC P-256",
        ),
        ("JP/LG/131016", b"-----BEGIN PUBLIC KEY-----\nnope\n", "not a PEM public key"),
    ],
)
def test_a_gateway_certificate_needs_an_approved_member_and_a_p256_key(
    token: str,
    db_session: Session,
    settings: Settings,
    member: str,
    public_key: bytes,
    reason: str,
) -> None:
    with pytest.raises(RegistrationRefused, match=reason):
        RegistryService(db_session).issue_certificate(
            MemberId.parse(member), public_key, settings=settings, actor="operator"
        )
