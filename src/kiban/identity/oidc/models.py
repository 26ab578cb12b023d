"""The OpenID Connect provider's state: signing keys, relying parties, codes, tokens, consents.

The provider is national infrastructure, like J-LIS's: its tables are not owned by a tenant.
A resident subject is named by reference (``resident:131016:000000012``), as in the audit trail.

Secrets are never stored: codes and tokens are kept as their SHA-256 (they are random and
high-entropy, so a hash cannot be reversed by guessing), client secrets likewise, and signing
keys only encrypted under a key derived from the deployment's secret key.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from kiban.core.database import Base

AUTH_METHODS = ("client_secret_basic", "private_key_jwt")
TOKEN_KINDS = ("access", "refresh")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


class OidcSigningKey(Base):
    """An ES256 key that signs ID tokens; retired keys stay published until their tokens expire."""

    __tablename__ = "oidc_signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    algorithm: Mapped[str] = mapped_column(String(16))
    public_jwk: Mapped[str] = mapped_column(Text)  # JSON
    private_key_encrypted: Mapped[bytes] = mapped_column(LargeBinary)  # AES-GCM nonce + text
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class OidcClient(Base):
    """A relying party registered by an operator, with exact redirect URIs."""

    __tablename__ = "oidc_clients"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    purpose: Mapped[str] = mapped_column(String(1000))
    redirect_uris: Mapped[str] = mapped_column(Text)  # one per line
    post_logout_redirect_uris: Mapped[str] = mapped_column(Text)  # one per line, may be empty
    auth_method: Mapped[str] = mapped_column(String(32))
    secret_sha256: Mapped[str | None] = mapped_column(String(64))
    jwks: Mapped[str | None] = mapped_column(Text)  # JSON, for private_key_jwt
    jwks_uri: Mapped[str | None] = mapped_column(String(2048))
    scope: Mapped[str] = mapped_column(String(256))  # the scopes it may ask for
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (CheckConstraint(_one_of("auth_method", AUTH_METHODS), name="auth_method"),)

    @property
    def redirect_uri_list(self) -> list[str]:
        return self.redirect_uris.split()

    @property
    def post_logout_redirect_uri_list(self) -> list[str]:
        return self.post_logout_redirect_uris.split()

    @property
    def scopes(self) -> frozenset[str]:
        return frozenset(self.scope.split())


class OidcAuthorizationCode(Base):
    """A code handed to a relying party's redirect URI; exchanged once, then kept as used.

    A used code is kept until it expires so that a second exchange is recognised as a replay,
    which revokes every token issued from the code (RFC 6749 §4.1.2).
    """

    __tablename__ = "oidc_authorization_codes"

    code_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), ForeignKey("oidc_clients.client_id"))
    subject: Mapped[str] = mapped_column(String(128))  # resident:…, business:…
    sub: Mapped[str] = mapped_column(String(64))  # the pairwise identifier the client sees
    redirect_uri: Mapped[str] = mapped_column(String(2048))
    scope: Mapped[str] = mapped_column(String(256))
    nonce: Mapped[str | None] = mapped_column(String(256))
    code_challenge: Mapped[str] = mapped_column(String(128))
    acr: Mapped[str] = mapped_column(String(16))
    amr: Mapped[str] = mapped_column(String(64))
    auth_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class OidcGrant(Base):
    """One sign-in's family of tokens: revoking it ends every access and refresh token in it."""

    __tablename__ = "oidc_grants"

    grant_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), ForeignKey("oidc_clients.client_id"))
    subject: Mapped[str] = mapped_column(String(128))
    sub: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(String(256))
    acr: Mapped[str] = mapped_column(String(16))
    amr: Mapped[str] = mapped_column(String(64))
    auth_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    code_sha256: Mapped[str] = mapped_column(String(64))  # the code it was issued from
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_oidc_grants_code_sha256", "code_sha256"),
        Index("ix_oidc_grants_subject", "subject", "client_id"),
    )


class OidcToken(Base):
    """An opaque access or refresh token of a grant; a refresh token is used once (rotation)."""

    __tablename__ = "oidc_tokens"

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    grant_id: Mapped[str] = mapped_column(String(32), ForeignKey("oidc_grants.grant_id"))
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(_one_of("kind", TOKEN_KINDS), name="kind"),
        Index("ix_oidc_tokens_grant_id", "grant_id"),
    )


class OidcConsent(Base):
    """What a subject agreed to release to a relying party, until they revoke it."""

    __tablename__ = "oidc_consents"

    subject: Mapped[str] = mapped_column(String(128), primary_key=True)
    client_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("oidc_clients.client_id"), primary_key=True
    )
    scope: Mapped[str] = mapped_column(String(256))
    granted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OidcClientAssertion(Base):
    """The ``jti`` of each client assertion seen, until it expires: an assertion is used once."""

    __tablename__ = "oidc_client_assertions"

    client_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("oidc_clients.client_id"), primary_key=True
    )
    jti: Mapped[str] = mapped_column(String(256), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
