"""Certificate profiles: what the root, the issuing CA and each kind of certificate contain.

kiban has no IANA Private Enterprise Number, so its object identifiers live under a UUID arc
(ITU-T X.667, ``2.25.<uuid as integer>``) that nobody else can have: ``KIBAN_ARC`` below.
docs/card.md lists every identifier.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

from kiban.identity.ca.models import CertificateKind

# uuid 1414ba5e-5a18-456f-a05d-52f2396abe3b, generated once for kiban.
KIBAN_ARC = "2.25.26692185856385562568216540005966462523"

POLICY_OIDS = {
    CertificateKind.AUTHENTICATION: x509.ObjectIdentifier(f"{KIBAN_ARC}.1.1"),
    CertificateKind.SIGNING: x509.ObjectIdentifier(f"{KIBAN_ARC}.1.2"),
    CertificateKind.ORGANISATION: x509.ObjectIdentifier(f"{KIBAN_ARC}.1.3"),
}
# subjectAltName otherName types of the signing certificate (基本4情報), each a UTF8String.
NAME_OID = x509.ObjectIdentifier(f"{KIBAN_ARC}.2.1")  # 氏名, "山田 花子"
ADDRESS_OID = x509.ObjectIdentifier(f"{KIBAN_ARC}.2.2")  # 住所, as on the 住民票
BIRTH_DATE_OID = x509.ObjectIdentifier(f"{KIBAN_ARC}.2.3")  # 生年月日, ISO 8601 "1980-05-01"
SEX_OID = x509.ObjectIdentifier(f"{KIBAN_ARC}.2.4")  # 性別, ISO/IEC 5218 "1" or "2"

ROOT_VALIDITY = timedelta(days=20 * 365)
ISSUING_VALIDITY = timedelta(days=10 * 365)
HOLDER_VALIDITY = timedelta(days=5 * 365)  # like the real cards' certificates
# Clocks differ; a certificate is valid from a little before it was issued.
BACKDATE = timedelta(minutes=5)

CURVE = ec.SECP256R1()


def _name(common_name: str, organisational_unit: str | None = None) -> x509.Name:
    attributes = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "kiban"),
    ]
    if organisational_unit:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, organisational_unit))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attributes)


ROOT_NAME = _name("kiban Root CA")
ISSUING_NAME = _name("kiban Issuing CA")


def random_holder_name(kind: CertificateKind) -> x509.Name:
    """A subject that says nothing about the person: a random identifier and the kind."""
    unit = "利用者証明用" if kind is CertificateKind.AUTHENTICATION else "署名用"
    return _name(secrets.token_hex(16), unit)


def organisation_name(member_code: str, organisation: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.COMMON_NAME, member_code),
        ]
    )


def der_utf8_string(text: str) -> bytes:
    """A DER UTF8String: the value an otherName carries."""
    content = text.encode("utf-8")
    length = len(content)
    if length < 0x80:
        header = bytes([length])
    else:
        size = length.to_bytes((length.bit_length() + 7) // 8, "big")
        header = bytes([0x80 | len(size)]) + size
    return b"\x0c" + header + content


def parse_der_utf8_string(value: bytes) -> str:
    """The text of a DER UTF8String, as written by ``der_utf8_string``."""
    if len(value) < 2 or value[0] != 0x0C:
        raise ValueError("not a UTF8String")
    if value[1] < 0x80:
        start, length = 2, value[1]
    else:
        size = value[1] & 0x7F
        start, length = 2 + size, int.from_bytes(value[2 : 2 + size], "big")
    content = value[start : start + length]
    if len(content) != length or start + length != len(value):
        raise ValueError("truncated UTF8String")
    return content.decode("utf-8")


@dataclass(frozen=True, slots=True)
class BasicInformation:
    """基本4情報: what a signing certificate says about its holder."""

    name: str
    address: str
    birth_date: date
    sex: str

    def subject_alternative_name(self) -> x509.SubjectAlternativeName:
        return x509.SubjectAlternativeName(
            [
                x509.OtherName(NAME_OID, der_utf8_string(self.name)),
                x509.OtherName(ADDRESS_OID, der_utf8_string(self.address)),
                x509.OtherName(BIRTH_DATE_OID, der_utf8_string(self.birth_date.isoformat())),
                x509.OtherName(SEX_OID, der_utf8_string(self.sex)),
            ]
        )

    @classmethod
    def from_certificate(cls, certificate: x509.Certificate) -> BasicInformation:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        values = {
            other.type_id: parse_der_utf8_string(other.value)
            for other in san.get_values_for_type(x509.OtherName)
        }
        return cls(
            name=values[NAME_OID],
            address=values[ADDRESS_OID],
            birth_date=date.fromisoformat(values[BIRTH_DATE_OID]),
            sex=values[SEX_OID],
        )


def ca_builder(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    issuer_key: ec.EllipticCurvePublicKey,
    *,
    not_before: datetime,
    not_after: datetime,
    path_length: int,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key), critical=False
        )
    )


def holder_builder(
    kind: CertificateKind,
    subject: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    issuing: x509.Certificate,
    *,
    serial_number: int,
    not_before: datetime,
    not_after: datetime,
    public_url: str,
) -> x509.CertificateBuilder:
    """An end-entity certificate of ``kind``, with where to check its status."""
    signing = kind is CertificateKind.SIGNING
    usages = (
        [ExtendedKeyUsageOID.CLIENT_AUTH]
        if kind is CertificateKind.AUTHENTICATION
        else [ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH]
        if kind is CertificateKind.ORGANISATION
        else None
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuing.subject)
        .public_key(public_key)
        .serial_number(serial_number)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=signing,  # non-repudiation: the holder signs documents
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=kind is CertificateKind.ORGANISATION,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.CertificatePolicies([x509.PolicyInformation(POLICY_OIDS[kind], None)]),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                issuing.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
            ),
            critical=False,
        )
        .add_extension(
            x509.CRLDistributionPoints(
                [
                    x509.DistributionPoint(
                        [x509.UniformResourceIdentifier(f"{public_url}/ca/crl")], None, None, None
                    )
                ]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.OCSP,
                        x509.UniformResourceIdentifier(f"{public_url}/ca/ocsp"),
                    ),
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.CA_ISSUERS,
                        x509.UniformResourceIdentifier(f"{public_url}/ca/issuing.pem"),
                    ),
                ]
            ),
            critical=False,
        )
    )
    if usages:
        builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    return builder


def policy_of(certificate: x509.Certificate) -> CertificateKind | None:
    """The kind a certificate's policy says it is, or None for a foreign certificate."""
    try:
        policies = certificate.extensions.get_extension_for_class(x509.CertificatePolicies).value
    except x509.ExtensionNotFound:
        return None
    for policy in policies:
        for kind, oid in POLICY_OIDS.items():
            if policy.policy_identifier == oid:
                return kind
    return None
