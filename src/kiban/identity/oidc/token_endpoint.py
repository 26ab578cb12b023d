"""The token endpoint's work, in the order it is done.

Throttle the caller's address, authenticate the client, throttle the client, then answer the
grant.  The route (``kiban.identity.oidc.api``) runs exactly this, and so does the
benchmark's service-layer measurement (``bench/token_exchange.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, fields
from datetime import timedelta

from sqlalchemy.orm import Session

from kiban.core.config import Settings
from kiban.core.throttle import RateLimited, throttle
from kiban.identity.oidc.client_auth import (
    ClientAuthenticator,
    basic_credentials,
    known_client_secrets,
)
from kiban.identity.oidc.endpoints import Endpoints
from kiban.identity.oidc.errors import OAuthError, invalid_request
from kiban.identity.oidc.models import OidcClient
from kiban.identity.oidc.repository import OidcRepository
from kiban.identity.oidc.tokens import TokenResponse, TokenService

TOKEN_LIMIT_WINDOW = timedelta(seconds=10)


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


CLIENT_PARAMETERS = ("client_id", "client_assertion_type", "client_assertion")
GRANT_PARAMETERS = tuple(field.name for field in fields(GrantRequest))


def token_form(items: Iterable[tuple[str, object]]) -> dict[str, str]:
    """The token request's parameters from its form's ``(name, value)`` pairs.

    Each may be sent once, as text (RFC 6749 §3.2), or ``invalid_request``; one sent empty
    counts as not sent (§3.1), and unknown ones are ignored.
    """
    known = {*CLIENT_PARAMETERS, *GRANT_PARAMETERS}
    parameters: dict[str, str] = {}
    for name, value in items:
        if name not in known:
            continue
        if not isinstance(value, str):
            raise invalid_request(f"{name} must be text")
        if name in parameters:
            raise invalid_request(f"{name} must be sent once")
        parameters[name] = value
    return {name: value for name, value in parameters.items() if value}


def grant_request(parameters: Mapping[str, str]) -> GrantRequest:
    return GrantRequest(*(parameters.get(name) for name in GRANT_PARAMETERS))


UnitOfWork = Callable[[], AbstractContextManager[Session]]


class TokenEndpoint:
    """Answers token requests, each in the units of work it is given.

    ``unit_of_work`` is a transaction; ``single_statements`` a session in which each statement
    commits by itself.  A code exchange by a client with a secret is tried first as one
    statement in the latter (PostgreSQL), with no transaction around it; every other request,
    and any that the statement did not answer, runs in a transaction.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        unit_of_work: UnitOfWork,
        single_statements: UnitOfWork,
    ) -> None:
        self.settings = settings
        self.unit_of_work = unit_of_work
        self.single_statements = single_statements
        self.endpoints = Endpoints.of(settings)

    def answer(
        self, ip: str, credentials: ClientCredentials, request: GrantRequest
    ) -> TokenResponse:
        """The tokens the request earns, or an :class:`OAuthError` (429 when throttled).

        An error's revocations, audit events and counts are committed with it.
        """
        with self.single_statements() as session:
            issued, counted = self._exchange_at_once(session, ip, credentials, request)
        if issued is not None:
            return issued
        with self.unit_of_work() as session:
            client = self._authenticate(session, ip, credentials, counted=counted)
            return self._grant(session, client, request)

    def _exchange_at_once(
        self, session: Session, ip: str, credentials: ClientCredentials, request: GrantRequest
    ) -> tuple[TokenResponse | None, bool]:
        """The tokens, if the one-statement exchange answered; and whether the caller's
        attempt has been counted against the rate limits."""
        if not (
            request.grant_type == "authorization_code"
            and request.code
            and request.redirect_uri
            and request.code_verifier
            and credentials.authorization
            and credentials.authorization[:6].lower() == "basic "
            and not (credentials.assertion or credentials.assertion_type)
        ):
            return None, False
        try:
            client_id, secret = basic_credentials(
                credentials.authorization[6:].strip(), credentials.client_id
            )
        except OAuthError:
            return None, False  # refused in the transaction, with the attempt counted
        service = TokenService(session, self.settings)
        if not service.exchanges_at_once or not known_client_secrets.shown(
            OidcRepository(session), client_id, secret
        ):
            return None, False
        self._count(session, ip=ip, client_id=client_id)
        issued = service.exchange_code_at_once(
            client_id, secret, request.code, request.redirect_uri, request.code_verifier
        )
        return issued, True

    def _authenticate(
        self, session: Session, ip: str, credentials: ClientCredentials, *, counted: bool
    ) -> OidcClient:
        authenticator = ClientAuthenticator(
            OidcRepository(session),
            issuer=self.endpoints.issuer,
            token_endpoint=self.endpoints.token,
        )
        if not counted:
            self._count(session, ip=ip)
        client = authenticator.authenticate(
            credentials.authorization,
            credentials.client_id,
            credentials.assertion_type,
            credentials.assertion,
        )
        if not counted:
            self._count(session, client_id=client.client_id)
        return client

    def _count(
        self, session: Session, *, ip: str | None = None, client_id: str | None = None
    ) -> None:
        """Count the attempt against the caller's address and the authenticated client
        (``KIBAN_OIDC_TOKEN_LIMIT_PER_IP``, ``…_PER_CLIENT``)."""
        settings = self.settings
        try:
            if ip is not None:
                throttle(
                    session,
                    f"oidc-token:ip:{ip}",
                    limit=settings.oidc_token_limit_per_ip,
                    window=TOKEN_LIMIT_WINDOW,
                )
            if client_id is not None:
                throttle(
                    session,
                    f"oidc-token:client:{client_id}",
                    limit=settings.oidc_token_limit_per_client,
                    window=TOKEN_LIMIT_WINDOW,
                )
        except RateLimited as error:
            raise OAuthError(
                "invalid_request", "too many token requests", status=429, headers=error.headers
            ) from None

    def _grant(self, session: Session, client: OidcClient, request: GrantRequest) -> TokenResponse:
        service = TokenService(session, self.settings)
        if request.grant_type == "authorization_code":
            return service.exchange_code(
                client, request.code, request.redirect_uri, request.code_verifier
            )
        if request.grant_type == "refresh_token":
            return service.refresh(client, request.refresh_token, request.scope)
        if request.grant_type:
            raise OAuthError("unsupported_grant_type", f"{request.grant_type} is not supported")
        raise invalid_request("grant_type is required")
