"""The provider's machine endpoints: discovery, JWKS, token and userinfo.

The token and userinfo endpoints answer errors in OAuth's format (``kiban.identity.oidc.errors``);
their access dependencies authenticate the caller and hand the route either the caller or the
error to answer with, so that not even a refusal is turned into problem details.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from kiban.core.access import PublicAccess, declare_access
from kiban.core.config import Settings
from kiban.core.dependencies import DbSession, single_statements, unit_of_work
from kiban.core.throttle import client_ip
from kiban.identity.oidc.clients import CLIENT_ASSERTION_ALGORITHMS
from kiban.identity.oidc.endpoints import (
    DISCOVERY_PATH,
    JWKS_PATH,
    TOKEN_PATH,
    USERINFO_PATH,
    Endpoints,
)
from kiban.identity.oidc.errors import NO_STORE, OAuthError
from kiban.identity.oidc.keys import ALGORITHM, SigningKeys
from kiban.identity.oidc.scopes import CLAIM_SCOPES, SUPPORTED_SCOPES
from kiban.identity.oidc.token_endpoint import (
    CLIENT_PARAMETERS,
    GRANT_PARAMETERS,
    ClientCredentials,
    GrantRequest,
    TokenEndpoint,
    grant_request,
    token_form,
)
from kiban.identity.oidc.tokens import TokenService

router = APIRouter(tags=["openid-connect"])


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _token_endpoint(request: Request) -> TokenEndpoint:
    return TokenEndpoint(
        _settings(request),
        unit_of_work=partial(unit_of_work, request),
        single_statements=partial(single_statements, request),
    )


@declare_access
async def oauth_client_access(request: Request) -> ClientCredentials:
    """A relying party authenticated with client_secret_basic or private_key_jwt.

    The credentials are checked by the route, in its unit of work: a refusal is answered in
    OAuth's format and what led to it (the failure's count) is committed with it.
    """
    # Read from the form Starlette parses once per request, not as FastAPI Form parameters:
    # validating those cost more than a token exchange's own work.  The route refuses a
    # parameter that is repeated or not text before these are used.
    form = await request.form()
    values = [form.get(name) for name in CLIENT_PARAMETERS]
    return ClientCredentials(
        request.headers.get("authorization"),
        *(value if isinstance(value, str) and value else None for value in values),
    )


@declare_access
async def bearer_token_access(
    authorization: Annotated[str | None, Header()] = None,
) -> str | None:
    """A relying party holding an access token (RFC 6750); the token is checked by the route."""
    if authorization and authorization[:7].lower() == "bearer ":
        return authorization[7:].strip()
    return None


TokenClient = Annotated[ClientCredentials, Depends(oauth_client_access)]
BearerToken = Annotated[str | None, Depends(bearer_token_access)]


@router.get(DISCOVERY_PATH, dependencies=[PublicAccess])
def discovery(request: Request) -> dict[str, Any]:
    """OpenID Provider metadata (OpenID Connect Discovery 1.0)."""
    endpoints = Endpoints.of(_settings(request))
    return {
        "issuer": endpoints.issuer,
        "authorization_endpoint": endpoints.authorization,
        "token_endpoint": endpoints.token,
        "userinfo_endpoint": endpoints.userinfo,
        "jwks_uri": endpoints.jwks,
        "end_session_endpoint": endpoints.end_session,
        "scopes_supported": list(SUPPORTED_SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": [ALGORITHM],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": list(CLIENT_ASSERTION_ALGORITHMS),
        "code_challenge_methods_supported": ["S256"],
        "acr_values_supported": ["aal3", "aal2"],
        "claims_supported": sorted(
            {"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "at_hash"}
            | {claim for info in CLAIM_SCOPES.values() for claim in info.claims}
        ),
        "claims_locales_supported": ["ja"],
        "ui_locales_supported": ["ja", "en"],
        "authorization_response_iss_parameter_supported": True,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
    }


@router.get(JWKS_PATH, dependencies=[PublicAccess])
def jwks(request: Request, db: DbSession) -> JSONResponse:
    """The public keys that verify ID tokens, retired ones included while tokens may use them."""
    keys = SigningKeys(db, _settings(request)).jwks()
    return JSONResponse(keys, headers={"Cache-Control": "public, max-age=300"})


_TOKEN_REQUEST_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "properties": {
                        name: {"type": "string"} for name in (*GRANT_PARAMETERS, *CLIENT_PARAMETERS)
                    },
                    "required": ["grant_type"],
                }
            }
        },
    }
}


@router.post(TOKEN_PATH, openapi_extra=_TOKEN_REQUEST_BODY)
async def token(request: Request, credentials: TokenClient) -> JSONResponse:
    """Exchange an authorization code, or a refresh token, for tokens (RFC 6749 §4.1.3, §6)."""
    try:
        grant = grant_request(token_form((await request.form()).multi_items()))
    except OAuthError as error:
        return error.response()
    # All of the database work in one worker thread, rather than a thread each for the
    # session, the client's authentication and the grant: at the busiest endpoint, the
    # hand-overs between the event loop and the threads cost more than the exchange itself.
    return await run_in_threadpool(_answer_token_request, request, credentials, grant)


def _answer_token_request(
    request: Request, credentials: ClientCredentials, grant: GrantRequest
) -> JSONResponse:
    try:
        issued = _token_endpoint(request).answer(client_ip(request), credentials, grant)
    except OAuthError as error:
        return error.response()
    return JSONResponse(issued.as_json(), headers=NO_STORE)


# OpenID Connect Core §5.3.1 lets a client use either method; one route each keeps their
# OpenAPI operation ids apart.
@router.get(USERINFO_PATH)
@router.post(USERINFO_PATH)
def userinfo(request: Request, db: DbSession, access_token: BearerToken) -> JSONResponse:
    """The claims the person agreed to release to the relying party holding the token."""
    try:
        claims = TokenService(db, _settings(request)).userinfo(access_token)
    except OAuthError as error:
        return error.response()
    return JSONResponse(claims, headers=NO_STORE)
