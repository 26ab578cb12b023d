"""The token endpoint's grants and the userinfo endpoint.

Access and refresh tokens are opaque random strings stored as their SHA-256: a relying party
cannot read anything from them, and revoking one is one update.  Every token belongs to a grant,
the family of one sign-in; a replayed authorization code or a refresh token used twice revokes
its whole family (OAuth 2.0 Security BCP, §4.13 and §4.14).
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from joserfc import jwt
from sqlalchemy.orm import Session

from kiban.core.audit import AuditOutcome, audit_row, current_request_id, record_audit
from kiban.core.config import Settings
from kiban.identity.oidc.authorization import code_sha256, s256
from kiban.identity.oidc.clients import secret_sha256
from kiban.identity.oidc.endpoints import Endpoints
from kiban.identity.oidc.errors import OAuthError, invalid_grant, invalid_request, invalid_token
from kiban.identity.oidc.keys import ALGORITHM, ID_TOKEN_LIFETIME, SigningKeys
from kiban.identity.oidc.models import OidcClient, OidcGrant
from kiban.identity.oidc.repository import CodeExchange, OidcRepository, SpentCode
from kiban.identity.oidc.subjects import Subjects, SubjectUnavailable

ACCESS_TOKEN_LIFETIME = timedelta(minutes=10)
REFRESH_TOKEN_LIFETIME = timedelta(days=14)
VERIFIER = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")  # RFC 7636 §4.1


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", errors="replace")).hexdigest()


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _half_hash(value: str) -> str:
    """``at_hash``: the left half of the SHA-256 of the access token, base64url (ES256)."""
    digest = hashlib.sha256(value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode("ascii")


@dataclass(frozen=True, slots=True)
class TokenResponse:
    access_token: str
    refresh_token: str
    id_token: str
    scope: str

    def as_json(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": int(ACCESS_TOKEN_LIFETIME.total_seconds()),
            "refresh_token": self.refresh_token,
            "id_token": self.id_token,
            "scope": self.scope,
        }


@dataclass(frozen=True, slots=True)
class _Family:
    """What every token of one grant says about the sign-in it came from."""

    grant_id: str
    client_id: str
    subject: str
    sub: str
    acr: str
    amr: str
    auth_time: datetime

    @classmethod
    def of_code(cls, spent: SpentCode, grant_id: str, client_id: str) -> _Family:
        return cls(
            grant_id, client_id, spent.subject, spent.sub, spent.acr, spent.amr, spent.auth_time
        )

    @classmethod
    def of(cls, grant: OidcGrant) -> _Family:
        return cls(
            grant.grant_id,
            grant.client_id,
            grant.subject,
            grant.sub,
            grant.acr,
            grant.amr,
            grant.auth_time,
        )


def _check_spent(spent: SpentCode, redirect_uri: str, code_verifier: str, now: datetime) -> None:
    """Refuse a spent code that has expired, or whose redirect URI or PKCE challenge the
    exchange does not match."""
    if _utc(spent.expires_at) <= now:
        raise invalid_grant("the authorization code has expired")
    if redirect_uri != spent.redirect_uri:
        raise invalid_grant("redirect_uri does not match the authorization request")
    if not VERIFIER.match(code_verifier) or s256(code_verifier) != spent.code_challenge:
        raise invalid_grant("the PKCE code_verifier does not match the code_challenge")


class TokenService:
    def __init__(self, session: Session, settings: Settings) -> None:
        self.session = session
        self.settings = settings
        self.repository = OidcRepository(session)
        self.issuer = Endpoints.of(settings).issuer

    # Grants -----------------------------------------------------------------------------

    def exchange_code(
        self,
        client: OidcClient,
        code: str | None,
        redirect_uri: str | None,
        code_verifier: str | None,
        now: datetime | None = None,
    ) -> TokenResponse:
        now = now or datetime.now(UTC)
        if not code or not redirect_uri or not code_verifier:
            raise invalid_request("code, redirect_uri and code_verifier are required")
        digest = code_sha256(code)
        # Spent before it is checked: a code presented with a wrong verifier is used up too.
        spent = self.repository.spend_code(digest, client.client_id, now)
        if spent is None:
            found = self.repository.code(digest)
            if found is None or found.client_id != client.client_id:
                raise invalid_grant("unknown authorization code")
            # A replay: whoever holds the code may have stolen it, so nothing from it survives.
            self.repository.revoke_grants_of_code(digest, now)
            self._audit_failure(client, found.subject, "code_reused", now)
            raise invalid_grant("the authorization code was already used; its tokens are revoked")
        _check_spent(spent, redirect_uri, code_verifier, now)
        family = _Family.of_code(spent, secrets.token_hex(16), client.client_id)
        new_grant = {
            "grant_id": family.grant_id,
            "client_id": family.client_id,
            "subject": family.subject,
            "sub": family.sub,
            "scope": spent.scope,
            "acr": family.acr,
            "amr": family.amr,
            "auth_time": family.auth_time,
            "code_sha256": digest,
            "created_at": now,
            "revoked_at": None,
        }
        return self._issue(family, spent.scope, spent.nonce, now, spent.signing_kid, new_grant)

    @property
    def exchanges_at_once(self) -> bool:
        """Whether :meth:`exchange_code_at_once` can answer here: on PostgreSQL."""
        return self.session.get_bind().dialect.name == "postgresql"

    def exchange_code_at_once(
        self,
        client_id: str,
        secret: str,
        code: str,
        redirect_uri: str,
        code_verifier: str,
        now: datetime | None = None,
    ) -> TokenResponse | None:
        """:meth:`exchange_code` for a client authenticated by its secret, in one statement
        that also checks the secret (PostgreSQL): the busiest path of the provider.

        None, with nothing changed, when the client, its secret or the code did not hold (or
        on another database): :meth:`exchange_code` then answers, and says why.
        """
        if not self.exchanges_at_once or not VERIFIER.match(code_verifier):
            return None
        now = now or datetime.now(UTC)
        grant_id = secrets.token_hex(16)
        access_token, refresh_token = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        spent = self.repository.exchange_at_once(
            CodeExchange(
                code_sha256=code_sha256(code),
                client_id=client_id,
                secret_sha256=secret_sha256(secret),
                redirect_uri=redirect_uri,
                code_challenge=s256(code_verifier),
                grant_id=grant_id,
                access_token_sha256=token_sha256(access_token),
                access_expires_at=now + ACCESS_TOKEN_LIFETIME,
                refresh_token_sha256=token_sha256(refresh_token),
                refresh_expires_at=now + REFRESH_TOKEN_LIFETIME,
                request_id=current_request_id(),
                now=now,
            )
        )
        if spent is None:
            return None
        # The statement wrote the grant only if these hold; they are checked again here
        # to say which did not.
        _check_spent(spent, redirect_uri, code_verifier, now)
        family = _Family.of_code(spent, grant_id, client_id)
        id_token = self.id_token(family, spent.nonce, access_token, now, spent.signing_kid)
        return TokenResponse(access_token, refresh_token, id_token, spent.scope)

    def refresh(
        self,
        client: OidcClient,
        refresh_token: str | None,
        scope: str | None,
        now: datetime | None = None,
    ) -> TokenResponse:
        now = now or datetime.now(UTC)
        if not refresh_token:
            raise invalid_request("refresh_token is required")
        digest = token_sha256(refresh_token)
        found = self.repository.token(digest)
        if found is None or found[0].kind != "refresh" or found[1].client_id != client.client_id:
            raise invalid_grant("unknown refresh token")
        token, grant = found
        if grant.revoked_at is not None:
            raise invalid_grant("the refresh token has been revoked")
        if token.used_at is not None or not self.repository.use_token(digest, now):
            # Rotation means a refresh token is used once: a second use is a stolen copy.
            self.repository.revoke_grant(grant.grant_id, now)
            self._audit_failure(client, grant.subject, "refresh_token_reused", now)
            raise invalid_grant("the refresh token was already used; its family is revoked")
        if _utc(token.expires_at) <= now:
            raise invalid_grant("the refresh token has expired")
        try:
            Subjects(self.session, self.settings).ensure_available(grant.subject)
        except SubjectUnavailable:
            # Moved out, died or disabled since signing in: nothing from that sign-in lasts.
            self.repository.revoke_grant(grant.grant_id, now)
            self._audit_failure(client, grant.subject, "subject_unavailable", now)
            raise invalid_grant("the person can no longer be signed in; sign in again") from None
        granted = grant.scope.split()
        if scope is not None:
            narrower = scope.split()
            if not set(narrower) <= set(granted):
                raise OAuthError("invalid_scope", "a refresh cannot widen the granted scope")
            granted = [name for name in granted if name in narrower]
        return self._issue(_Family.of(grant), " ".join(granted), None, now)

    def _issue(
        self,
        family: _Family,
        scope: str,
        nonce: str | None,
        now: datetime,
        signing_kid: str | None = None,
        new_grant: dict[str, Any] | None = None,
    ) -> TokenResponse:
        """Tokens for ``family``, written with ``new_grant`` when a code starts the family."""
        access_token = secrets.token_urlsafe(32)
        refresh_token = secrets.token_urlsafe(32)
        self.repository.record_issue(
            new_grant,
            [
                {
                    "token_sha256": token_sha256(token),
                    "grant_id": family.grant_id,
                    "kind": kind,
                    "created_at": now,
                    "expires_at": now + lifetime,
                    "used_at": None,
                }
                for token, kind, lifetime in (
                    (access_token, "access", ACCESS_TOKEN_LIFETIME),
                    (refresh_token, "refresh", REFRESH_TOKEN_LIFETIME),
                )
            ],
            audit_row(
                "oidc.token",
                AuditOutcome.SUCCESS,
                actor=family.client_id,
                subject=family.subject,
                details={
                    "client_id": family.client_id,
                    "grant_id": family.grant_id,
                    "scope": scope,
                },
                now=now,
            ),
        )
        id_token = self.id_token(family, nonce, access_token, now, signing_kid)
        return TokenResponse(access_token, refresh_token, id_token, scope)

    def id_token(
        self,
        family: _Family,
        nonce: str | None,
        access_token: str,
        now: datetime,
        signing_kid: str | None = None,
    ) -> str:
        signer = SigningKeys(self.session, self.settings).signer(signing_kid)
        issued_at = int(now.timestamp())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": family.sub,
            "aud": family.client_id,
            "azp": family.client_id,
            "iat": issued_at,
            "exp": issued_at + int(ID_TOKEN_LIFETIME.total_seconds()),
            "auth_time": int(_utc(family.auth_time).timestamp()),
            "acr": family.acr,
            "amr": family.amr.split(),
            "at_hash": _half_hash(access_token),
        }
        if nonce is not None:
            claims["nonce"] = nonce
        return jwt.encode({"alg": ALGORITHM, "kid": signer.kid}, claims, signer, [ALGORITHM])

    def _audit_failure(self, client: OidcClient, subject: str, reason: str, now: datetime) -> None:
        record_audit(
            self.session,
            "oidc.token",
            AuditOutcome.FAILURE,
            actor=client.client_id,
            subject=subject,
            details={"client_id": client.client_id, "reason": reason},
            now=now,
        )

    # Userinfo ---------------------------------------------------------------------------

    def userinfo(self, access_token: str | None, now: datetime | None = None) -> dict[str, Any]:
        now = now or datetime.now(UTC)
        if not access_token:
            raise invalid_token("send the access token as Authorization: Bearer")
        found = self.repository.token(token_sha256(access_token))
        if found is None or found[0].kind != "access":
            raise invalid_token("unknown access token")
        token, grant = found
        if grant.revoked_at is not None:
            raise invalid_token("the access token has been revoked")
        if _utc(token.expires_at) <= now:
            raise invalid_token("the access token has expired")
        subjects = Subjects(self.session, self.settings)
        try:
            subjects.ensure_available(grant.subject)
            claims = subjects.claims(grant.subject, grant.scope)
        except SubjectUnavailable as error:
            raise invalid_token(str(error)) from None
        return {"sub": grant.sub, **{name: value for name, value in claims.items() if value}}
