"""The signed global configuration: what every gateway needs to know about the mesh.

The registry publishes who the members and subsystems are, which services exist and who may
call them, signed (JWS, ES256) with the registry's key.  The registry's certificate, issued by
kiban's CA for ``JP/registry``, travels in the signature's ``x5c`` header with the issuing
CA's.  A gateway trusts only the root CA it was given when it was set up: it checks the
chain to that root, the certificate's validity and kind, the signature, and that the
configuration has not expired.  Anything else is refused, and a gateway with no valid
configuration refuses every exchange (fails closed).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from kiban.core.config import Settings
from kiban.core.crypto import purpose_key
from kiban.identity.ca.models import CertificateKind, CertificateStatus
from kiban.identity.ca.profiles import policy_of
from kiban.identity.ca.repository import CertificateRepository
from kiban.identity.ca.service import CertificateAuthorityService, serial_hex
from kiban.mesh.identifiers import INSTANCE, MemberId, SubsystemId
from kiban.mesh.registry.models import (
    MeshAccessRight,
    MeshGroup,
    MeshSigningKey,
    RegistrationStatus,
    service_id_of,
)
from kiban.mesh.registry.repository import RegistryRepository

REGISTRY = f"{INSTANCE}/registry"  # the common name of the registry's certificate
REGISTRY_NAME = "kiban 公共サービスメッシュ 登録局 / Mesh registry"
LIFETIME = timedelta(minutes=10)
ALGORITHM = "ES256"
TYPE = "kiban-mesh-configuration+jwt"
MEDIA_TYPE = "application/jose"
CLOCK_SKEW = timedelta(seconds=30)
_PURPOSE = b"kiban/mesh-configuration-signing/v1"


def _jws_registry() -> jws.JWSRegistry:
    registry = jws.JWSRegistry(algorithms=[ALGORITHM])
    # The header carries two certificates and the payload the whole mesh: beyond joserfc's
    # defaults (512 bytes and 128 kB), which are sized for tokens.
    registry.max_header_length = 8_192
    registry.max_payload_length = 64_000_000
    return registry


_JWS = _jws_registry()


class ConfigurationRejected(ValueError):
    """A configuration a gateway must not use; the message says why, on one line."""


@dataclass(frozen=True, slots=True)
class GlobalConfiguration:
    issued_at: datetime
    expires_at: datetime
    content: dict[str, Any]


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# Publishing ------------------------------------------------------------------------------


def configuration_content(
    session: Session, now: datetime, lifetime: timedelta = LIFETIME
) -> dict[str, Any]:
    """What the registry holds now that gateways act on: approved members, their gateways'
    certificates and addresses, approved subsystems, services, groups and access rights."""
    registry = RegistryRepository(session)
    approved = RegistrationStatus.APPROVED
    members = registry.members(approved)
    member_ids = [str(MemberId.of(row.member_class, row.member_code)) for row in members]
    certificates = CertificateRepository(session).valid_of_members(member_ids, now)
    services = registry.services()
    groups = session.scalars(select(MeshGroup).order_by(MeshGroup.group_code)).all()
    rights = session.scalars(select(MeshAccessRight)).all()
    return {
        "instance": INSTANCE,
        "issued_at": now.isoformat(),
        "expires_at": (now + lifetime).isoformat(),
        "members": [
            {"id": member_id, "name": row.name}
            for member_id, row in zip(member_ids, members, strict=True)
        ],
        # The gateways' certificates: how gateways recognise each other (mutual TLS) and
        # each other's signatures.
        "certificates": [
            {
                "member": row.member_code,
                "serial": row.serial_number,
                "der": base64.b64encode(row.certificate_der).decode("ascii"),
            }
            for row in certificates
        ],
        # Where each member's gateways are reached.
        "gateways": sorted(
            (
                {
                    "member": str(MemberId.of(row.member_class, row.member_code)),
                    "address": row.address,
                }
                for row in registry.gateways(status=approved)
            ),
            key=lambda gateway: (gateway["member"], gateway["address"]),
        ),
        "subsystems": [
            str(SubsystemId.of(MemberId.of(row.member_class, row.member_code), row.subsystem_code))
            for row in registry.subsystems(status=approved)
        ],
        "services": [
            {
                "id": str(service_id_of(row)),
                "title": row.title,
                "personal_data": row.personal_data,
            }
            for row in services
        ],
        "groups": [
            {
                "owner": str(MemberId.of(row.owner_class, row.owner_code))
                if row.owner_class
                else None,
                "code": row.group_code,
                # Where each member's gateways are reached.
                "gateways": sorted(
                    (
                        {
                            "member": str(MemberId.of(row.member_class, row.member_code)),
                            "address": row.address,
                        }
                        for row in registry.gateways(status=approved)
                    ),
                    key=lambda gateway: (gateway["member"], gateway["address"]),
                ),
                "subsystems": [str(subsystem) for subsystem in registry.group_subsystems(row)],
            }
            for row in groups
        ],
        "rights": sorted(
            (
                {
                    "service": str(service_id_of(row)),
                    "method": row.method,
                    "path": row.path,
                    "granted_to": row.granted_to,
                    "subject": row.subject,
                    "purposes": row.purposes.split(),
                }
                for row in rights
            ),
            key=lambda right: (right["service"], right["method"], right["path"], right["subject"]),
        ),
    }


class ConfigurationSigner:
    """The registry's signing key, made with its certificate on first use."""

    def __init__(self, session: Session, settings: Settings) -> None:
        self.session = session
        self.settings = settings
        self._password = purpose_key(settings, _PURPOSE)

    def key(self) -> MeshSigningKey:
        """The newest key; a new one when there is none, or its certificate is about to end
        or has been revoked (``kiban ca revoke``: the key is thought compromised)."""
        row = self.session.scalars(
            select(MeshSigningKey).order_by(MeshSigningKey.created_at.desc()).limit(1)
        ).first()
        if row is not None:
            certificate = x509.load_pem_x509_certificate(row.certificate_pem.encode("ascii"))
            issued = CertificateRepository(self.session).get(row.kid)
            if (
                certificate.not_valid_after_utc > datetime.now(UTC) + LIFETIME
                and issued is not None
                and issued.status == CertificateStatus.VALID
            ):
                return row
        return self._create()

    def _create(self) -> MeshSigningKey:
        private_key = ec.generate_private_key(ec.SECP256R1())
        issued = CertificateAuthorityService(
            self.session, self.settings
        ).issue_organisation_certificate(
            REGISTRY, REGISTRY_NAME, private_key.public_key(), actor="mesh-registry"
        )
        row = MeshSigningKey(
            kid=serial_hex(issued.certificate.serial_number),
            certificate_pem=issued.pem.decode("ascii"),
            private_key_pem=private_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.BestAvailableEncryption(self._password),
            ),
            created_at=datetime.now(UTC),
        )
        self.session.add(row)
        self.session.flush()
        return row

    def sign(self, content: dict[str, Any]) -> str:
        """``content`` as a compact JWS, with the registry's certificate chain in ``x5c``."""
        row = self.key()
        certificate = x509.load_pem_x509_certificate(row.certificate_pem.encode("ascii"))
        authority = CertificateAuthorityService(self.session, self.settings).authority
        private_key = serialization.load_pem_private_key(row.private_key_pem, self._password)
        header = {
            "alg": ALGORITHM,
            "typ": TYPE,
            "kid": row.kid,
            "x5c": [_der_b64(certificate), _der_b64(authority.issuing)],
        }
        payload = json.dumps(content, ensure_ascii=False, sort_keys=True).encode("utf-8")
        key = ECKey.import_key(
            private_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return jws.serialize_compact(header, payload, key, algorithms=[ALGORITHM], registry=_JWS)


def publish(
    session: Session,
    settings: Settings,
    now: datetime | None = None,
    *,
    lifetime: timedelta = LIFETIME,
) -> str:
    """The signed global configuration as of ``now``, for ``lifetime``."""
    return ConfigurationSigner(session, settings).sign(
        configuration_content(session, now or datetime.now(UTC), lifetime)
    )


def _der_b64(certificate: x509.Certificate) -> str:
    return base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode("ascii")


# Verifying -------------------------------------------------------------------------------


def verify_configuration(
    token: str,
    trusted_root: x509.Certificate,
    now: datetime | None = None,
    *,
    revocations: x509.CertificateRevocationList | None = None,
) -> GlobalConfiguration:
    """The configuration in ``token`` once everything about it holds; else
    :class:`ConfigurationRejected`, saying why.  With ``revocations`` (the issuing CA's
    current list, ``/ca/crl``), a configuration signed with a revoked certificate is refused
    too."""
    now = now or datetime.now(UTC)
    try:
        header = jws.extract_compact(token.strip().encode("ascii"), registry=_JWS).headers()
    except (JoseError, ValueError, UnicodeEncodeError):
        raise ConfigurationRejected("not a compact JWS") from None
    if header.get("alg") != ALGORITHM or header.get("typ") != TYPE:
        raise ConfigurationRejected(f"not a {TYPE} signed with {ALGORITHM}")
    signer, issuing = _signer_certificate(header.get("x5c"), trusted_root, now)
    if revocations is not None:
        _not_revoked(signer, issuing, revocations, now)
    public_pem = signer.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    try:
        verified = jws.deserialize_compact(
            token.strip(), ECKey.import_key(public_pem), algorithms=[ALGORITHM], registry=_JWS
        )
        content = json.loads(verified.payload)
        issued_at = _utc(datetime.fromisoformat(content["issued_at"]))
        expires_at = _utc(datetime.fromisoformat(content["expires_at"]))
    except JoseError:
        raise ConfigurationRejected("the signature does not verify") from None
    except (ValueError, KeyError, TypeError):
        raise ConfigurationRejected("the signed content is not a configuration") from None
    if content.get("instance") != INSTANCE:
        raise ConfigurationRejected(f"the configuration is not for the {INSTANCE} instance")
    if issued_at > now + CLOCK_SKEW:
        raise ConfigurationRejected("the configuration is issued in the future")
    if expires_at <= now:
        raise ConfigurationRejected(
            f"the configuration expired at {expires_at.isoformat()}: fetch a new one"
        )
    return GlobalConfiguration(issued_at, expires_at, content)


def _signer_certificate(
    chain: object, trusted_root: x509.Certificate, now: datetime
) -> tuple[x509.Certificate, x509.Certificate]:
    """The registry's certificate and its issuer's from ``x5c``, once they chain to
    ``trusted_root``."""
    if not isinstance(chain, list) or len(chain) != 2 or not all(isinstance(c, str) for c in chain):
        raise ConfigurationRejected(
            "x5c must hold the registry's and the issuing CA's certificates"
        )
    try:
        signer, issuing = (x509.load_der_x509_certificate(base64.b64decode(c)) for c in chain)
    except ValueError:
        raise ConfigurationRejected("x5c holds something that is not a certificate") from None
    try:
        issuing.verify_directly_issued_by(trusted_root)
        signer.verify_directly_issued_by(issuing)
    except (ValueError, TypeError, InvalidSignature):
        raise ConfigurationRejected(
            "the registry's certificate is not under the trusted root"
        ) from None
    for certificate in (signer, issuing, trusted_root):
        if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
            raise ConfigurationRejected("a certificate of the chain is not valid at this time")
    names = signer.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    if policy_of(signer) is not CertificateKind.ORGANISATION or [n.value for n in names] != [
        REGISTRY
    ]:
        raise ConfigurationRejected(f"the signer is not the registry ({REGISTRY})")
    return signer, issuing


def _not_revoked(
    signer: x509.Certificate,
    issuing: x509.Certificate,
    revocations: x509.CertificateRevocationList,
    now: datetime,
) -> None:
    """The registry's certificate is not on its issuer's current revocation list."""
    public_key = issuing.public_key()
    if (
        revocations.issuer != issuing.subject
        or not isinstance(public_key, ec.EllipticCurvePublicKey)
        or not revocations.is_signature_valid(public_key)
    ):
        raise ConfigurationRejected("the revocation list is not the issuing CA's")
    next_update = revocations.next_update_utc
    if next_update is None or next_update < now:
        raise ConfigurationRejected("the revocation list is out of date")
    if revocations.get_revoked_certificate_by_serial_number(signer.serial_number) is not None:
        raise ConfigurationRejected("the registry's certificate is revoked")
