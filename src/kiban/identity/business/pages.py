"""Business ID pages: sign-in, set-up, entry registration, prime registration, the account.

The sign-in and set-up steps follow the staff pages (kiban.identity.staff.pages): refusals
re-render the form with their status, committing the failure count and audit event.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session
from starlette.responses import Response

from kiban.core.access import PublicAccess
from kiban.core.audit import AuditOutcome, record_audit
from kiban.core.config import Settings
from kiban.core.csrf import CsrfProtected
from kiban.core.dependencies import DbSession
from kiban.core.errors import ProblemError
from kiban.core.sessions import (
    BusinessSession,
    ResidentSession,
    SubjectKind,
    end_session,
    local_next,
    start_session,
)
from kiban.core.throttle import client_ip
from kiban.identity.business.models import BusinessAccount, CorpType
from kiban.identity.business.service import (
    BusinessService,
    business_sign_in,
    business_subject,
)
from kiban.identity.credentials import (
    PASSWORD_POLICY_TEXT,
    InvalidCredential,
    SignInResult,
    provisioning_uri,
    qr_code_svg,
    totp_box,
)
from kiban.web.templating import templates

SETUP_COOKIE = "kiban_business_setup"
ACCOUNT_PAGE = "/business/account"

router = APIRouter(prefix="/business", include_in_schema=False, default_response_class=HTMLResponse)


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _render(
    request: Request, name: str, context: dict[str, object], status_code: int = 200
) -> Response:
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def _to_setup(request: Request, account: BusinessAccount, target: str) -> Response:
    token = account.start_setup(datetime.now(UTC))
    response = RedirectResponse(f"/business/setup?next={quote(target, safe='')}", 303)
    response.set_cookie(
        SETUP_COOKIE,
        f"{account.account_id}.{token}",
        max_age=600,
        path="/business",
        secure=_settings(request).secure_cookies,
        httponly=True,
        samesite="lax",
    )
    return response


def _start(
    session: Session, response: Response, account: BusinessAccount, settings: Settings
) -> None:
    start_session(
        session,
        response,
        kind=SubjectKind.BUSINESS,
        subject_id=account.account_id,
        acr="aal2",
        amr=["pwd", "otp"],
        settings=settings,
    )


# Sign-in and set-up -----------------------------------------------------------------------


@router.get("/signin", dependencies=[PublicAccess])
def signin_form(request: Request, next: str | None = None) -> Response:
    return _render(request, "business/signin.html", {"next": local_next(next, ACCOUNT_PAGE)})


@router.post("/signin", dependencies=[PublicAccess, CsrfProtected])
def signin(
    request: Request,
    session: DbSession,
    login_id: Annotated[str, Form(max_length=256)],
    password: Annotated[str, Form(max_length=256)],
    code: Annotated[str, Form(max_length=16)] = "",
    next: Annotated[str, Form(max_length=2048)] = ACCOUNT_PAGE,
) -> Response:
    target = local_next(next, ACCOUNT_PAGE)
    settings = _settings(request)
    try:
        outcome = business_sign_in(
            session,
            totp_box(settings),
            login_id=login_id,
            password=password,
            code=code,
            ip=client_ip(request),
        )
    except ProblemError as refusal:
        page = _render(
            request,
            "business/signin.html",
            {"next": target, "error": refusal.detail, "login_id": login_id},
            status_code=refusal.status,
        )
        page.headers.update(refusal.headers or {})
        return page
    if outcome.result is SignInResult.SETUP_REQUIRED:
        return _to_setup(request, outcome.account, target)
    response = RedirectResponse(target, 303)
    _start(session, response, outcome.account, settings)
    return response


def _setup_account(request: Request, session: Session) -> BusinessAccount | None:
    account_id, _, token = request.cookies.get(SETUP_COOKIE, "").partition(".")
    if not (account_id and token):
        return None
    account = session.get(BusinessAccount, account_id)
    if account is None or account.disabled_at is not None:
        return None
    return account if account.setup_token_valid(token, datetime.now(UTC)) else None


def _setup_page(
    request: Request,
    account: BusinessAccount,
    next_path: str,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    context: dict[str, object] = {
        "next": next_path,
        "error": error,
        "account": account,
        "password_policy": PASSWORD_POLICY_TEXT,
    }
    if account.totp_enrolled_at is None:
        secret = account.pending_totp_secret(totp_box(_settings(request)))
        context |= {
            "secret": secret,
            "qr_svg": qr_code_svg(provisioning_uri(secret, account.login_id)),
        }
    return _render(request, "business/setup.html", context, status_code)


@router.get("/setup", dependencies=[PublicAccess])
def setup_form(request: Request, session: DbSession, next: str | None = None) -> Response:
    account = _setup_account(request, session)
    if account is None:
        return RedirectResponse("/business/signin", 303)
    return _setup_page(request, account, local_next(next, ACCOUNT_PAGE))


@router.post("/setup", dependencies=[PublicAccess, CsrfProtected])
def setup(
    request: Request,
    session: DbSession,
    code: Annotated[str, Form(max_length=16)],
    new_password: Annotated[str | None, Form(max_length=256)] = None,
    confirm_password: Annotated[str | None, Form(max_length=256)] = None,
    next: Annotated[str, Form(max_length=2048)] = ACCOUNT_PAGE,
) -> Response:
    target = local_next(next, ACCOUNT_PAGE)
    account = _setup_account(request, session)
    if account is None:
        return RedirectResponse("/business/signin", 303)
    try:
        if new_password != confirm_password:
            raise InvalidCredential(
                "確認用のパスワードが一致しません。 / The passwords do not match."
            )
        account.finish_setup(
            totp_box(_settings(request)), code, new_password, account.login_id, datetime.now(UTC)
        )
    except InvalidCredential as error:
        return _setup_page(request, account, target, str(error), 422)
    record_audit(
        session,
        "business.sign_in",
        AuditOutcome.SUCCESS,
        actor=business_subject(account),
        subject=business_subject(account),
        details={"reason": "setup_completed"},
    )
    response = RedirectResponse(target, 303)
    response.delete_cookie(SETUP_COOKIE, path="/business")
    _start(session, response, account, _settings(request))
    return response


@router.post("/signout", dependencies=[CsrfProtected])
def signout(session: DbSession, auth_session: BusinessSession) -> Response:
    response = RedirectResponse("/", 303)
    end_session(session, response, auth_session)
    return response


# Registration -------------------------------------------------------------------------------


@router.get("/register", dependencies=[PublicAccess])
def register_form(request: Request) -> Response:
    return _render(
        request, "business/register.html", {"form": {}, "password_policy": PASSWORD_POLICY_TEXT}
    )


@router.post("/register", dependencies=[PublicAccess, CsrfProtected])
def register(
    request: Request,
    session: DbSession,
    login_id: Annotated[str, Form(max_length=256)],
    password: Annotated[str, Form(max_length=256)],
    name: Annotated[str, Form(max_length=256)],
    corp_type: Annotated[str, Form(max_length=32)],
    corporate_number: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    """Self-registration of an entry account; the authenticator app is set up next."""
    try:
        account = BusinessService(session).register_entry(
            login_id, password, name, corp_type, corporate_number or None
        )
    except ProblemError as error:
        form = {
            "login_id": login_id,
            "name": name,
            "corp_type": corp_type,
            "corporate_number": corporate_number,
        }
        context: dict[str, object] = {
            "form": form,
            "error": error.detail,
            "password_policy": PASSWORD_POLICY_TEXT,
        }
        return _render(request, "business/register.html", context, error.status)
    return _to_setup(request, account, ACCOUNT_PAGE)


@router.get("/prime")
def prime_form(
    request: Request,
    session: DbSession,
    auth_session: ResidentSession,
    corporate_number: str | None = None,
) -> Response:
    """For a resident signed in with their card: the company to represent, then confirmation."""
    service = BusinessService(session)
    context: dict[str, object] = {"password_policy": PASSWORD_POLICY_TEXT, "form": {}}
    status_code = 200
    try:
        context["person"] = service.representative(auth_session.subject_id)
        if corporate_number:
            context["company"] = service.company(corporate_number)
    except ProblemError as error:
        context["error"] = error.detail
        status_code = error.status
    return _render(request, "business/prime.html", context, status_code)


@router.post("/prime", dependencies=[CsrfProtected])
def create_prime(
    request: Request,
    session: DbSession,
    auth_session: ResidentSession,
    corporate_number: Annotated[str, Form(max_length=32)],
    login_id: Annotated[str, Form(max_length=256)],
    password: Annotated[str, Form(max_length=256)],
) -> Response:
    service = BusinessService(session)
    try:
        account = service.create_prime(
            auth_session.subject_id, corporate_number, login_id, password
        )
    except ProblemError as error:
        context: dict[str, object] = {
            "password_policy": PASSWORD_POLICY_TEXT,
            "form": {"login_id": login_id},
            "error": error.detail,
        }
        try:
            context["person"] = service.representative(auth_session.subject_id)
            context["company"] = service.company(corporate_number)
        except ProblemError:
            pass  # the error above already says what is wrong
        return _render(request, "business/prime.html", context, error.status)
    return _to_setup(request, account, ACCOUNT_PAGE)


# The account ---------------------------------------------------------------------------------


def _account_page(
    request: Request,
    session: Session,
    account: BusinessAccount,
    *,
    error: str | None = None,
    issued: object = None,
    status_code: int = 200,
) -> Response:
    service = BusinessService(session)
    company = service.company(account.corporate_number) if account.corporate_number else None
    return _render(
        request,
        "business/account.html",
        {
            "account": account,
            "company": company,
            "corp_type_label": {
                CorpType.CORPORATION: "法人 / Corporation",
                CorpType.SOLE_PROPRIETOR: "個人事業主 / Sole proprietor",
            }[CorpType(account.corp_type)],
            "members": service.members(account) if account.account_type == "prime" else [],
            "error": error,
            "issued": issued,
        },
        status_code,
    )


@router.get("/account")
def account_page(request: Request, session: DbSession, auth_session: BusinessSession) -> Response:
    account = BusinessService(session).account(auth_session.subject_id)
    return _account_page(request, session, account)


@router.post("/account/members", dependencies=[CsrfProtected])
def add_member(
    request: Request,
    session: DbSession,
    auth_session: BusinessSession,
    login_id: Annotated[str, Form(max_length=256)],
    name: Annotated[str, Form(max_length=256)],
) -> Response:
    """A prime adds a member of the same company, who signs in with a one-time password."""
    service = BusinessService(session)
    prime = service.account(auth_session.subject_id)
    try:
        issued = service.create_member(prime, login_id, name)
    except ProblemError as error:
        return _account_page(request, session, prime, error=error.detail, status_code=error.status)
    return _account_page(request, session, prime, issued=issued, status_code=201)
