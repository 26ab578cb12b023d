"""The token endpoint's work, in the order it is done and in the caller's one transaction.

Throttle the caller's address, authenticate the client, throttle the client, then answer the
grant.  The route (``kiban.identity.oidc.api``) runs exactly this, and so does the
benchmark's service-layer measurement (``bench/token_exchange.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from kiban.core.config import Settings
from kiban.core.throttle import RateLimited, throttle
from kiban.identity.oidc.client_auth import ClientAuthenticator
from kiban.identity.oidc.endpoints import Endpoints
from kiban.identity.oidc.errors import OAuthError, invalid_request
from kiban.identity.oidc.models import OidcClient
from kiban.identity.oidc.repository import OidcRepository
from kiban.identity.oidc.tokens import TokenResponse, TokenService


@dataclass(frozen=True, slots=True)
class TokenEndpointLimits:
    """Attempts per window at the token endpoint; a deployment may raise them on app.state."""

    per_client: int = 5000
    per_ip: int = 5000
    window: timedelta = timedelta(seconds=10)


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    """How a client authenticates: HTTP Basic, or a client assertion (RFC 7523)."""

    authorization: str | None = None
    client_id: str | None = None
    assertion_type: str | None = None
    assertion: str | None = None


@dataclass(frozen=True, slots=True)
class GrantRequest:
    """The grant's form parameters (RFC 6749 §4.1.3, §6)."""

    grant_type: str | None = None
    code: str | None = None
    redirect_uri: str | None = None
    code_verifier: str | None = None
    refresh_token: str | None = None
    scope: str | None = None


class TokenEndpoint:
    def __init__(
        self, session: Session, settings: Settings, limits: TokenEndpointLimits | None = None
    ) -> None:
        self.session = session
        self.settings = settings
        self.limits = limits or TokenEndpointLimits()

    def authenticate(self, ip: str, credentials: ClientCredentials) -> OidcClient:
        """The authenticated client, or an :class:`OAuthError` (429 when throttled)."""
        limits = self.limits
        endpoints = Endpoints.of(self.settings)
        authenticator = ClientAuthenticator(
            OidcRepository(self.session), issuer=endpoints.issuer, token_endpoint=endpoints.token
        )
        try:
            throttle(self.session, f"oidc-token:ip:{ip}", limit=limits.per_ip, window=limits.window)
            client = authenticator.authenticate(
                credentials.authorization,
                credentials.client_id,
                credentials.assertion_type,
                credentials.assertion,
            )
            throttle(
                self.session,
                f"oidc-token:client:{client.client_id}",
                limit=limits.per_client,
                window=limits.window,
            )
        except RateLimited as error:
            raise OAuthError(
                "invalid_request", "too many token requests", status=429, headers=error.headers
            ) from None
        return client

    def grant(self, client: OidcClient, request: GrantRequest) -> TokenResponse:
        """The tokens the grant earns, or an :class:`OAuthError`."""
        service = TokenService(self.session, self.settings)
        if request.grant_type == "authorization_code":
            return service.exchange_code(
                client, request.code, request.redirect_uri, request.code_verifier
            )
        if request.grant_type == "refresh_token":
            return service.refresh(client, request.refresh_token, request.scope)
        if request.grant_type:
            raise OAuthError("unsupported_grant_type", f"{request.grant_type} is not supported")
        raise invalid_request("grant_type is required")
