"""The provider's ES256 signing keys: generated, stored encrypted, rotated and published.

A private key is kept in the database encrypted with AES-GCM under a key derived (HKDF) from
the deployment's secret key for this one purpose, with its ``kid`` as associated data, so a
row copied under another ``kid`` does not decrypt.  Decrypted keys are cached per process,
by ``kid``: a ``kid`` is the key's RFC 7638 thumbprint, so it names one key material wherever
it is found.  Which key signs is read from the database on every use (an exchange reads it in
the statement that spends its code), so a rotation takes effect at once in every process.

Rotation makes a new key the one that signs; the retired key's public half stays in the JWKS
for ``RETIRED_KEY_PUBLISHED_FOR``, longer than any ID token it signed lives.
"""

from __future__ import annotations

import json
import os
import threading
from datetime import UTC, datetime, timedelta

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from joserfc.jwk import ECKey, KeySet
from sqlalchemy import ScalarSelect, or_, select
from sqlalchemy.orm import Session

from kiban.core.config import Settings
from kiban.core.crypto import purpose_key
from kiban.identity.oidc.models import OidcSigningKey

ALGORITHM = "ES256"
ID_TOKEN_LIFETIME = timedelta(minutes=10)
# Retired keys verify ID tokens used as logout hints after they expired, for a while.
RETIRED_KEY_PUBLISHED_FOR = timedelta(days=1)
_PURPOSE = b"kiban/oidc/signing-key-encryption/v1"

_cache_lock = threading.Lock()
_private_keys: dict[tuple[bytes, str], ECKey] = {}


class SigningKeyUnreadable(RuntimeError):
    """The secret key changed since the signing key was stored."""


def active_kid() -> ScalarSelect[str]:
    """The ``kid`` of the key that signs now, as a subquery (NULL before the first key)."""
    return (
        select(OidcSigningKey.kid)
        .where(OidcSigningKey.retired_at.is_(None))
        .order_by(OidcSigningKey.created_at.desc())
        .limit(1)
        .scalar_subquery()
    )


def _encrypt(key: bytes, kid: str, plaintext: bytes) -> bytes:
    nonce = os.urandom(12)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, kid.encode("ascii"))


def _decrypt(key: bytes, kid: str, sealed: bytes) -> bytes:
    return AESGCM(key).decrypt(sealed[:12], sealed[12:], kid.encode("ascii"))


class SigningKeys:
    """The signing keys in the database, seen with this deployment's secret key."""

    def __init__(self, session: Session, settings: Settings) -> None:
        self.session = session
        self._key = purpose_key(settings, _PURPOSE)

    def create(self, now: datetime | None = None) -> OidcSigningKey:
        """A new key that signs from now on; the previous ones are retired."""
        now = now or datetime.now(UTC)
        for active in self.session.scalars(
            select(OidcSigningKey).where(OidcSigningKey.retired_at.is_(None))
        ):
            active.retired_at = now
        private = ECKey.generate_key("P-256", auto_kid=True)
        kid = private.kid
        assert kid is not None  # auto_kid: the RFC 7638 thumbprint
        public = private.as_dict(private=False, alg=ALGORITHM, use="sig")
        row = OidcSigningKey(
            kid=kid,
            algorithm=ALGORITHM,
            public_jwk=json.dumps(public, sort_keys=True),
            private_key_encrypted=_encrypt(self._key, kid, private.as_pem(private=True)),
            created_at=now,
        )
        self.session.add(row)
        self.session.flush()
        return row

    def active(self) -> OidcSigningKey:
        """The key that signs now, made on first use."""
        row = self.session.scalars(
            select(OidcSigningKey)
            .where(OidcSigningKey.retired_at.is_(None))
            .order_by(OidcSigningKey.created_at.desc())
            .limit(1)
        ).first()
        return row or self.create()

    def private_key(self, row: OidcSigningKey) -> ECKey:
        cached = _private_keys.get((self._key, row.kid))
        if cached is None:
            try:
                pem = _decrypt(self._key, row.kid, row.private_key_encrypted)
            except InvalidTag:
                raise SigningKeyUnreadable(
                    f"signing key {row.kid} does not decrypt with this secret key;"
                    " restore KIBAN_SECRET_KEY or run `kiban oidc keys rotate`"
                ) from None
            cached = ECKey.import_key(pem, parameters={"kid": row.kid, "alg": ALGORITHM})
            with _cache_lock:
                _private_keys[(self._key, row.kid)] = cached
        return cached

    def signer(self, kid: str | None = None) -> ECKey:
        """The private key ``kid`` (read with :func:`active_kid`), or else the one signing now."""
        if kid is not None:
            cached = _private_keys.get((self._key, kid))
            if cached is not None:
                return cached
            row = self.session.get(OidcSigningKey, kid)
            if row is not None:
                return self.private_key(row)
        return self.private_key(self.active())

    def published(self, now: datetime | None = None) -> list[OidcSigningKey]:
        """The keys whose public halves the JWKS shows, newest first."""
        now = now or datetime.now(UTC)
        self.active()  # a JWKS is never empty
        return list(
            self.session.scalars(
                select(OidcSigningKey)
                .where(
                    or_(
                        OidcSigningKey.retired_at.is_(None),
                        OidcSigningKey.retired_at > now - RETIRED_KEY_PUBLISHED_FOR,
                    )
                )
                .order_by(OidcSigningKey.created_at.desc())
            )
        )

    def jwks(self, now: datetime | None = None) -> dict[str, list[dict[str, object]]]:
        return {"keys": [json.loads(row.public_jwk) for row in self.published(now)]}

    def verification_keys(self, now: datetime | None = None) -> KeySet:
        return KeySet.import_key_set(self.jwks(now))  # type: ignore[arg-type]

    def all(self) -> list[OidcSigningKey]:
        return list(
            self.session.scalars(select(OidcSigningKey).order_by(OidcSigningKey.created_at))
        )
