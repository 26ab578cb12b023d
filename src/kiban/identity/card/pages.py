"""Sign-in pages: the chooser, card sign-in with its code and QR code, and the demo wallet.

They work without JavaScript: the waiting page has a plain 続ける / Continue button.  With
JavaScript, a small script (``/static/card-signin-wait.js``) asks the status endpoint every
few seconds and presses Continue once the card has answered.  The page does not refresh
itself: an automatic refresh is a WCAG failure (F41) and would take a screen reader's place.
"""

from __future__ import annotations

from typing import Annotated

import segno
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from markupsafe import Markup
from sqlalchemy.orm import Session
from starlette.responses import Response

from kiban.core.access import PublicAccess
from kiban.core.config import Settings
from kiban.core.csrf import CsrfProtected
from kiban.core.dependencies import DbSession, SingleStatementSession
from kiban.core.errors import NotFound, ProblemError
from kiban.core.throttle import client_ip
from kiban.identity.card.demo import DEMO_PIN, approve_with_wallet_card, wallet_cards
from kiban.identity.card.models import SignInStatus
from kiban.identity.card.protocol import display_code, normalise_code
from kiban.identity.card.repository import SignIn
from kiban.identity.card.service import (
    COMPLETION_GRACE,
    SIGNIN_LIFETIME,
    CardSignInService,
    SignInRefused,
    safe_next,
)
from kiban.identity.card.virtual import CardError
from kiban.web.templating import templates

router = APIRouter(
    dependencies=[PublicAccess], include_in_schema=False, default_response_class=HTMLResponse
)

BROWSER_COOKIE = "kiban_card_signin"
_COOKIE_PATH = "/signin/card"
POLL_SECONDS = 3


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _service(request: Request, session: Session) -> CardSignInService:
    return CardSignInService(session, _settings(request))


@router.get("/signin")
def signin_chooser(
    request: Request, next_path: Annotated[str | None, Query(alias="next")] = None
) -> Response:
    """How to sign in: with the card, a business ID or a staff account."""
    return templates.TemplateResponse(
        request,
        "card/signin.html",
        {"next": safe_next(next_path), "demo_wallet": _settings(request).demo_wallet},
    )


@router.post("/signin/card", dependencies=[CsrfProtected])
def start_card_signin(
    request: Request,
    session: SingleStatementSession,
    next_path: Annotated[str | None, Form(alias="next", max_length=4096)] = None,
) -> Response:
    """Create a sign-in request bound to this browser, and show its code."""
    started = _service(request, session).start(next_path)
    response = RedirectResponse(f"/signin/card/{started.request.code}", status_code=303)
    response.set_cookie(
        BROWSER_COOKIE,
        started.browser_secret,
        max_age=int((SIGNIN_LIFETIME + COMPLETION_GRACE).total_seconds()),
        path=_COOKIE_PATH,
        secure=_settings(request).secure_cookies,
        httponly=True,
        samesite="lax",
    )
    return response


def _qr_svg(content: str) -> Markup:
    qr = segno.make(content, error="m")
    svg = qr.svg_inline(
        scale=5,
        title="サインイン用QRコード / Sign-in QR code",
        desc=content,
        border=4,
    )
    return Markup(svg)  # segno's own SVG markup; the content is our URL with a checked code


def _own_signin(request: Request, session: Session, code: str) -> SignIn:
    """The sign-in request ``code``, only for the browser that started it."""
    normalised = normalise_code(code)
    service = _service(request, session)
    signin = (
        service.for_browser(normalised, request.cookies.get(BROWSER_COOKIE)) if normalised else None
    )
    if signin is None:
        # Whoever only knows the code (saw the screen) gets nothing, nor whether it exists.
        raise ProblemError(
            403,
            "signin-request-not-yours",
            "Not your sign-in request / このブラウザのサインイン要求ではありません",
            "Start card sign-in again from this browser."
            " / このブラウザでもう一度サインインを開始してください。",
        )
    return signin


@router.get("/signin/card/{code}/status", response_class=JSONResponse)
def card_signin_progress(
    code: str, request: Request, session: SingleStatementSession
) -> JSONResponse:
    """Whether the card has answered yet, for the waiting page's script."""
    signin = _own_signin(request, session, code)
    waiting = signin.status == SignInStatus.PENDING and not _service(request, session).is_expired(
        signin
    )
    return JSONResponse({"waiting": waiting}, headers={"Cache-Control": "no-store"})


@router.get("/signin/card/{code}")
def card_signin_status(code: str, request: Request, session: SingleStatementSession) -> Response:
    """Wait for the approval; once approved, start the session and go on to ``next``."""
    service = _service(request, session)
    signin = _own_signin(request, session, code)
    if signin.status == SignInStatus.APPROVED:
        response = RedirectResponse(signin.next_path, status_code=303)
        try:
            service.complete(signin, response)
        except SignInRefused:
            return _page(request, signin, state="expired", status_code=410)
        response.delete_cookie(BROWSER_COOKIE, path=_COOKIE_PATH)
        return response
    if signin.status == SignInStatus.COMPLETED:
        return _page(request, signin, state="used", status_code=409)
    if service.is_expired(signin):
        return _page(request, signin, state="expired", status_code=410)
    return _page(request, signin, state="waiting")


def _page(request: Request, signin: SignIn, *, state: str, status_code: int = 200) -> Response:
    settings = _settings(request)
    code = signin.code
    device_url = f"{settings.public_url}/card/signin-requests/{code}"
    response = templates.TemplateResponse(
        request,
        "card/wait.html",
        {
            "state": state,
            "code": code,
            "display_code": display_code(code),
            "device_url": device_url,
            "qr_svg": _qr_svg(device_url) if state == "waiting" else None,
            "poll_seconds": POLL_SECONDS,
            "expires_at": signin.expires_at,
            "next": signin.next_path,
            "demo_wallet": settings.demo_wallet,
        },
        status_code=status_code,
    )
    return response


# The demo wallet ------------------------------------------------------------------------


def _wallet_enabled(request: Request) -> None:
    if not _settings(request).demo_wallet:
        raise NotFound("The demo wallet is not enabled here. / デモ用ウォレットは無効です。")


def _wallet(
    request: Request,
    session: Session,
    *,
    code: str = "",
    card_id: str = "",
    error: str | None = None,
    approved: bool = False,
    status_code: int = 200,
) -> Response:
    return templates.TemplateResponse(
        request,
        "card/wallet.html",
        {
            "cards": wallet_cards(session, _settings(request)),
            "code": code,
            "card_id": card_id,
            "error": error,
            "approved": approved,
            "demo_pin": DEMO_PIN,
        },
        status_code=status_code,
    )


@router.get("/demo/wallet")
def demo_wallet(
    request: Request,
    session: DbSession,
    code: Annotated[str, Query(max_length=16)] = "",
) -> Response:
    """DEMO ONLY: approve a sign-in code with a seeded resident's card."""
    _wallet_enabled(request)
    return _wallet(request, session, code=normalise_code(code) or "")


@router.post("/demo/wallet", dependencies=[CsrfProtected])
def demo_wallet_approve(
    request: Request,
    session: DbSession,
    card_id: Annotated[str, Form(max_length=32)] = "",
    code: Annotated[str, Form(max_length=32)] = "",
    pin: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    """DEMO ONLY: sign the request's challenge with the chosen card and approve it."""
    _wallet_enabled(request)
    normalised = normalise_code(code)
    if normalised is None:
        return _wallet(
            request,
            session,
            code=code,
            card_id=card_id,
            status_code=422,
            error="コードは英数字8文字です。 / A code is 8 letters and digits.",
        )
    try:
        approve_with_wallet_card(
            session, _settings(request), card_id, normalised, pin, client_ip=client_ip(request)
        )
    except CardError as error:
        # A wrong PIN is counted in the card folder; nothing in the database to keep.
        return _wallet(
            request, session, code=normalised, card_id=card_id, error=str(error), status_code=422
        )
    return _wallet(request, session, code=normalised, card_id=card_id, approved=True)
