"""The pages of the provider: the authorization endpoint with its consent screen, sign-out,
and the page where a person sees and revokes the consents they gave."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.responses import Response

from kiban.core.access import PublicAccess
from kiban.core.config import Settings
from kiban.core.csrf import CsrfProtected
from kiban.core.dependencies import DbSession
from kiban.core.errors import SignInRequired
from kiban.core.sessions import OptionalSession, SignedInSession, end_session
from kiban.identity.oidc.authorization import (
    REQUEST_PARAMETERS,
    AuthorizationRequest,
    AuthorizationService,
    ConsentService,
    RedirectError,
)
from kiban.identity.oidc.endpoints import AUTHORIZE_PATH, CONSENTS_PATH, LOGOUT_PATH
from kiban.identity.oidc.logout import LogoutRequest, LogoutService
from kiban.identity.oidc.scopes import CLAIM_SCOPES, claim_scopes
from kiban.web.templating import templates

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _redirect(location: str) -> RedirectResponse:
    return RedirectResponse(location, status_code=303)


def _consent_page(
    request: Request, authorization: AuthorizationRequest, scopes: list[str]
) -> Response:
    return templates.TemplateResponse(
        request,
        "oidc/consent.html",
        {
            "client": authorization.client,
            "items": [CLAIM_SCOPES[name] for name in claim_scopes(scopes)],
            "parameters": authorization.parameters,
        },
        headers={"Cache-Control": "no-store"},
    )


@router.get(AUTHORIZE_PATH, dependencies=[PublicAccess])
def authorize(request: Request, db: DbSession, auth_session: OptionalSession) -> Response:
    """The authorization endpoint: sign in if needed, consent if needed, back with a code."""
    service = AuthorizationService(db, _settings(request))
    try:
        authorization = service.parse(dict(request.query_params))
        if auth_session is None:
            if authorization.prompt == "none":
                return _redirect(
                    service.error_location(authorization, "login_required", "not signed in")
                )
            # Answered with a redirect to /signin?next=<this URL> (kiban.core.errors).
            raise SignInRequired("Sign in to continue. / サインインしてください。")
        scopes = service.scopes_for(auth_session, authorization)
        if service.consent_needed(auth_session, authorization):
            if authorization.prompt == "none":
                return _redirect(
                    service.error_location(authorization, "consent_required", "consent needed")
                )
            return _consent_page(request, authorization, scopes)
        return _redirect(service.approve(auth_session, authorization, consented=False))
    except RedirectError as error:
        return _redirect(error.location)


@router.post(AUTHORIZE_PATH, dependencies=[PublicAccess, CsrfProtected])
async def decide(request: Request, db: DbSession, auth_session: OptionalSession) -> Response:
    """The person's answer on the consent screen."""
    form = await request.form()
    params = {
        name: value for name in REQUEST_PARAMETERS if isinstance(value := form.get(name), str)
    }
    service = AuthorizationService(db, _settings(request))
    try:
        authorization = service.parse(params)
        if auth_session is None:
            raise SignInRequired("Sign in to continue. / サインインしてください。")
        if form.get("decision") != "allow":
            return _redirect(service.refuse(auth_session, authorization))
        return _redirect(service.approve(auth_session, authorization, consented=True))
    except RedirectError as error:
        return _redirect(error.location)


# Sign-out ------------------------------------------------------------------------------
# The confirmation form posts to a path of its own: the spec lets a relying party POST its
# sign-out request to the logout endpoint itself, from its own site and so without kiban's
# CSRF token, and that path is kept free for it.
LOGOUT_CONFIRM_PATH = LOGOUT_PATH + "/confirm"


def _back_to_relying_party(
    request: Request, logout_request: LogoutRequest, state: str | None
) -> Response:
    """To the registered post-logout URI with ``state``; without one, the signed-out page."""
    target = logout_request.post_logout_redirect_uri
    if not target:
        return templates.TemplateResponse(
            request, "oidc/signed_out.html", {"client": logout_request.client}
        )
    if state:
        target += ("&" if "?" in target else "?") + urlencode({"state": state})
    return _redirect(target)


@router.get(LOGOUT_PATH, dependencies=[PublicAccess])
def logout(
    request: Request,
    db: DbSession,
    auth_session: OptionalSession,
    id_token_hint: str | None = None,
    client_id: str | None = None,
    post_logout_redirect_uri: str | None = None,
    state: str | None = None,
) -> Response:
    """RP-initiated logout: end the kiban session, then back to the relying party.

    Without an ID token to vouch for the request, a signed-in person is asked first.
    """
    service = LogoutService(db, _settings(request))
    logout_request = service.check(id_token_hint, client_id, post_logout_redirect_uri)
    if auth_session is not None and logout_request.needs_confirmation:
        return templates.TemplateResponse(
            request,
            "oidc/logout_confirm.html",
            {
                "client": logout_request.client,
                "post_logout_redirect_uri": logout_request.post_logout_redirect_uri,
                "state": state,
                "action": LOGOUT_CONFIRM_PATH,
            },
        )
    response = _back_to_relying_party(request, logout_request, state)
    if auth_session is not None and service.is_subject(logout_request, auth_session):
        end_session(db, response, auth_session)
    return response


@router.post(LOGOUT_CONFIRM_PATH, dependencies=[PublicAccess, CsrfProtected])
def confirm_logout(
    request: Request,
    db: DbSession,
    auth_session: OptionalSession,
    decision: Annotated[str, Form(max_length=16)] = "",
    client_id: Annotated[str | None, Form(max_length=64)] = None,
    post_logout_redirect_uri: Annotated[str | None, Form(max_length=2048)] = None,
    state: Annotated[str | None, Form(max_length=2048)] = None,
) -> Response:
    """The person's answer: sign out of kiban, or stay signed in; either way back to the RP."""
    # Checked again: the form's hidden fields are only what the browser sent back.
    logout_request = LogoutService(db, _settings(request)).check(
        None, client_id, post_logout_redirect_uri
    )
    signing_out = decision == "sign_out"
    if not signing_out and logout_request.post_logout_redirect_uri is None:
        return _redirect("/")  # stayed signed in, and no relying party waits for them
    response = _back_to_relying_party(request, logout_request, state)
    if signing_out and auth_session is not None:
        end_session(db, response, auth_session)
    return response


@router.get(CONSENTS_PATH)
def consents(request: Request, db: DbSession, auth_session: SignedInSession) -> Response:
    """The services a person agreed to give their information to, each revocable."""
    rows = ConsentService(db).of(auth_session)
    return templates.TemplateResponse(
        request,
        "oidc/consents.html",
        {
            "consents": [
                (consent, client, [CLAIM_SCOPES[name] for name in claim_scopes(consent.scope)])
                for consent, client in rows
            ],
            "revoked": request.query_params.get("revoked"),
        },
        headers={"Cache-Control": "no-store"},
    )


@router.post(CONSENTS_PATH + "/{client_id}/revoke", dependencies=[CsrfProtected])
def revoke_consent(client_id: str, db: DbSession, auth_session: SignedInSession) -> Response:
    """Withdraw a consent; the service's tokens for the person stop working at once."""
    client = ConsentService(db).revoke(auth_session, client_id)
    return _redirect(CONSENTS_PATH + ("?revoked=1" if client else ""))
