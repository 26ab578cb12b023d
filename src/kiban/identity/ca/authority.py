"""The root and issuing CA: created once, stored encrypted in the database, cached per process.

The private keys are PKCS#8 PEM encrypted (BestAvailableEncryption) under a password derived
by HKDF from the deployment's secret key (``kiban.core.crypto.secret_key``) for this purpose
only.  They sit in the database so that every process of a deployment shares one CA; a copy
of the database without the secret key cannot sign anything.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select
from sqlalchemy.orm import Session

from kiban.core.config import Settings
from kiban.core.crypto import purpose_key
from kiban.identity.ca.models import CaKey, CaRole
from kiban.identity.ca.profiles import (
    BACKDATE,
    CURVE,
    ISSUING_NAME,
    ISSUING_VALIDITY,
    ROOT_NAME,
    ROOT_VALIDITY,
    ca_builder,
)

_KEY_PURPOSE = b"kiban/ca-private-keys/v1"


class AuthorityNotInitialised(RuntimeError):
    def __init__(self) -> None:
        super().__init__(
            "the certificate authority is not set up; run `kiban ca init`"
            " / 認証局が未作成です。kiban ca init を実行してください"
        )


class AuthorityKeyError(RuntimeError):
    """The CA's private key cannot be decrypted: the secret key is not the one it was made with."""


def key_password(settings: Settings) -> bytes:
    """The password of the CA's stored private keys, derived from the secret key."""
    return purpose_key(settings, _KEY_PURPOSE)


def fingerprint(certificate: x509.Certificate) -> str:
    return certificate.fingerprint(hashes.SHA256()).hex()


@dataclass(slots=True)
class Authority:
    """The CA certificates, parsed once, and the issuing key, decrypted on first use."""

    root: x509.Certificate
    issuing: x509.Certificate
    encrypted_issuing_key: bytes
    issuing_fingerprint: str = field(init=False)  # every sign-in compares it with the database's
    _keys: dict[str, ec.EllipticCurvePrivateKey] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.issuing_fingerprint = fingerprint(self.issuing)

    def issuing_key(self, settings: Settings) -> ec.EllipticCurvePrivateKey:
        password = key_password(settings)
        cache_key = hashlib.sha256(password).hexdigest()
        with self._lock:
            key = self._keys.get(cache_key)
            if key is None:
                key = _decrypt(self.encrypted_issuing_key, password)
                self._keys[cache_key] = key
            return key

    def chain_pem(self) -> bytes:
        """The issuing CA then the root, as a holder sends them along with its certificate."""
        return b"".join(
            certificate.public_bytes(serialization.Encoding.PEM)
            for certificate in (self.issuing, self.root)
        )


def _decrypt(pem: bytes, password: bytes) -> ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=password)
    except ValueError as error:
        raise AuthorityKeyError(
            "the CA key cannot be decrypted with this deployment's secret key"
            " / 秘密鍵を復号できません（secret_key が作成時と異なります）"
        ) from error
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise AuthorityKeyError("the CA key is not an ECDSA key")
    return key


_cache: dict[str, Authority] = {}
# The same CAs by the issuing key's identifier, which every holder certificate names in its
# authority key identifier: verification finds its CA without asking the database.
_by_key_identifier: dict[bytes, Authority] = {}
_cache_lock = threading.Lock()


def _key_identifier(certificate: x509.Certificate) -> bytes:
    public_key = certificate.public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)  # kiban's CA keys are P-256
    return x509.SubjectKeyIdentifier.from_public_key(public_key).digest


def cached_authority(holder: x509.Certificate) -> Authority | None:
    """A CA this process has loaded that may have issued ``holder``, without a query.

    A hint only: whether it is the database's current CA is for the caller to confirm.
    """
    try:
        extension = holder.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
    except (x509.ExtensionNotFound, ValueError):
        return None
    key_identifier = extension.value.key_identifier
    return _by_key_identifier.get(key_identifier) if key_identifier else None


def load_authority(session: Session) -> Authority:
    """The deployment's CA; parsed certificates are cached under the issuing CA's fingerprint.

    One primary-key read per call tells whether the cached CA is still the database's.
    """
    current = session.scalar(select(CaKey.fingerprint).where(CaKey.role == CaRole.ISSUING))
    if current is None:
        raise AuthorityNotInitialised
    cached = _cache.get(current)
    if cached is not None:
        return cached
    rows = {row.role: row for row in session.scalars(select(CaKey))}
    if set(rows) != {CaRole.ROOT, CaRole.ISSUING}:
        raise AuthorityNotInitialised
    issuing_row = rows[CaRole.ISSUING]
    authority = Authority(
        root=x509.load_pem_x509_certificate(rows[CaRole.ROOT].certificate_pem.encode("ascii")),
        issuing=x509.load_pem_x509_certificate(issuing_row.certificate_pem.encode("ascii")),
        encrypted_issuing_key=issuing_row.encrypted_key_pem.encode("ascii"),
    )
    # Checked once here, so that each verification need only check one link.
    authority.issuing.verify_directly_issued_by(authority.root)
    with _cache_lock:
        authority = _cache.setdefault(current, authority)
        _by_key_identifier[_key_identifier(authority.issuing)] = authority
        return authority


def ensure_authority(
    session: Session, settings: Settings, *, now: datetime | None = None
) -> tuple[Authority, bool]:
    """The CA, created (root, then the issuing CA signed by it) if there is none yet.

    Returns the CA and whether it was created now.
    """
    if session.get(CaKey, CaRole.ISSUING.value) is not None:
        authority = load_authority(session)
        authority.issuing_key(settings)  # fail now, not at the first card, on a wrong secret
        return authority, False
    now = now or datetime.now(UTC)
    password = key_password(settings)
    root_key = ec.generate_private_key(CURVE)
    root = ca_builder(
        ROOT_NAME,
        ROOT_NAME,
        root_key.public_key(),
        root_key.public_key(),
        not_before=now - BACKDATE,
        not_after=now + ROOT_VALIDITY,
        path_length=1,
    ).sign(root_key, hashes.SHA256())
    issuing_key = ec.generate_private_key(CURVE)
    issuing = ca_builder(
        ISSUING_NAME,
        ROOT_NAME,
        issuing_key.public_key(),
        root_key.public_key(),
        not_before=now - BACKDATE,
        not_after=now + ISSUING_VALIDITY,
        path_length=0,
    ).sign(root_key, hashes.SHA256())
    for role, certificate, key in (
        (CaRole.ROOT, root, root_key),
        (CaRole.ISSUING, issuing, issuing_key),
    ):
        session.add(
            CaKey(
                role=role.value,
                certificate_pem=certificate.public_bytes(serialization.Encoding.PEM).decode(),
                fingerprint=fingerprint(certificate),
                encrypted_key_pem=key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.BestAvailableEncryption(password),
                ).decode("ascii"),
                created_at=now,
            )
        )
    session.flush()
    return load_authority(session), True
