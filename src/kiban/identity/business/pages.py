"""Business ID pages: sign-in, set-up, entry registration, prime registration, the account.

Sign-in and set-up are shared with staff accounts (kiban.identity.accounts_web): refusals
re-render the form with their status, committing the failure count and audit event.  A prime
adds and removes the members of their company from the account page; a refused removal
re-renders it the same way, so its audit event is kept.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session
from starlette.responses import Response

from kiban.core.access import PublicAccess
from kiban.core.csrf import CsrfProtected
from kiban.core.dependencies import DbSession
from kiban.core.errors import ProblemError, SignInRequired
from kiban.core.sessions import (
    AuthSession,
    BusinessSession,
    ResidentSession,
    SubjectKind,
    end_session,
)
from kiban.identity.accounts_web import PasswordTotpPages, SessionSubject, render
from kiban.identity.business.models import BusinessAccount, CorpType
from kiban.identity.business.repository import BusinessRepository
from kiban.identity.business.service import (
    BusinessService,
    business_sign_in,
    business_subject,
)
from kiban.identity.credentials import (
    PASSWORD_POLICY_TEXT,
    IssuedPassword,
    SecretBox,
    SignInOutcome,
)
from kiban.registry.corporations.service import CorporationService

ACCOUNT_PAGE = "/business/account"
# Account ids are 16 hexadecimal digits; anything else names no account.
AccountId = Annotated[str, Path(pattern=r"^[0-9a-f]{16}$")]


class BusinessSignInPages(PasswordTotpPages[BusinessAccount]):
    def setup_reference(self, account: BusinessAccount) -> str:
        return account.account_id

    def setup_account(self, session: Session, reference: str) -> BusinessAccount | None:
        return BusinessRepository(session).get(reference)

    def audit_subject(self, account: BusinessAccount) -> str:
        return business_subject(account)

    def totp_label(self, account: BusinessAccount) -> str:
        return account.login_id

    def session_subject(self, account: BusinessAccount) -> SessionSubject:
        return SessionSubject(SubjectKind.BUSINESS, account.account_id)


sign_in_pages = BusinessSignInPages("business", home=ACCOUNT_PAGE)

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
router.include_router(sign_in_pages.router)


# Sign-in (the form, and set-up, come from sign_in_pages) ------------------------------------


@router.post("/business/signin", dependencies=[PublicAccess, CsrfProtected])
def signin(
    request: Request,
    session: DbSession,
    login_id: Annotated[str, Form(max_length=256)],
    password: Annotated[str, Form(max_length=256)],
    code: Annotated[str, Form(max_length=16)] = "",
    next: Annotated[str, Form(max_length=2048)] = ACCOUNT_PAGE,
) -> Response:
    def check(box: SecretBox, ip: str) -> SignInOutcome[BusinessAccount]:
        return business_sign_in(
            session, box, login_id=login_id, password=password, code=code, ip=ip
        )

    return sign_in_pages.sign_in(request, session, next, check, {"login_id": login_id})


@router.post("/business/signout", dependencies=[CsrfProtected])
def signout(session: DbSession, auth_session: BusinessSession) -> Response:
    response = RedirectResponse("/", 303)
    end_session(session, response, auth_session)
    return response


# Registration -------------------------------------------------------------------------------


@router.get("/business/register", dependencies=[PublicAccess])
def register_form(request: Request) -> Response:
    return render(
        request, "business/register.html", {"form": {}, "password_policy": PASSWORD_POLICY_TEXT}
    )


@router.post("/business/register", dependencies=[PublicAccess, CsrfProtected])
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
        return render(request, "business/register.html", context, error.status)
    return sign_in_pages.to_setup(request, account, ACCOUNT_PAGE)


def _prime_page(
    request: Request,
    session: Session,
    resident_ref: str,
    corporate_number: str | None,
    *,
    form: dict[str, str] | None = None,
    refusal: ProblemError | None = None,
) -> Response:
    """The person and, once chosen, the company; the first refusal is the one shown."""
    service = BusinessService(session)
    context: dict[str, object] = {"password_policy": PASSWORD_POLICY_TEXT, "form": form or {}}
    try:
        context["person"] = service.representative(resident_ref)
        if corporate_number:
            context["company"] = service.company(corporate_number)
    except ProblemError as error:
        refusal = refusal or error
    if refusal is not None:
        context["error"] = refusal.detail
    return render(request, "business/prime.html", context, refusal.status if refusal else 200)


@router.get("/business/prime")
def prime_form(
    request: Request,
    session: DbSession,
    auth_session: ResidentSession,
    corporate_number: str | None = None,
) -> Response:
    """For a resident signed in with their card: the company to represent, then confirmation."""
    return _prime_page(request, session, auth_session.subject_id, corporate_number)


@router.post("/business/prime", dependencies=[CsrfProtected])
def create_prime(
    request: Request,
    session: DbSession,
    auth_session: ResidentSession,
    corporate_number: Annotated[str, Form(max_length=32)],
    login_id: Annotated[str, Form(max_length=256)],
    password: Annotated[str, Form(max_length=256)],
) -> Response:
    try:
        account = BusinessService(session).create_prime(
            auth_session.subject_id, corporate_number, login_id, password
        )
    except ProblemError as error:
        form = {"login_id": login_id}
        return _prime_page(
            request, session, auth_session.subject_id, corporate_number, form=form, refusal=error
        )
    return sign_in_pages.to_setup(request, account, ACCOUNT_PAGE)


# The account ---------------------------------------------------------------------------------


def _account_page(
    request: Request,
    session: Session,
    account: BusinessAccount,
    *,
    error: str | None = None,
    issued: IssuedPassword[BusinessAccount] | None = None,
    status_code: int = 200,
) -> Response:
    service = BusinessService(session)
    # The registry's record as it is, closed or not: the account outlives a closure.
    number = account.corporate_number
    company = CorporationService(session).get(number) if number else None
    return render(
        request,
        "business/account.html",
        {
            "account": account,
            "company": company,
            "corp_type_label": {
                CorpType.CORPORATION: "法人 / Corporation",
                CorpType.SOLE_PROPRIETOR: "個人事業主 / Sole proprietor",
            }[CorpType(account.corp_type)],
            "members": service.members(account),
            "error": error,
            "issued": issued,
        },
        status_code,
    )


def _signed_in_account(session: Session, auth_session: AuthSession) -> BusinessAccount:
    """The session's account, which must still be enabled.

    Disabling an account ends its sessions; this also refuses one that outlived that.
    """
    account = BusinessRepository(session).get(auth_session.subject_id)
    if account is None or account.disabled_at is not None:
        raise SignInRequired("Sign in again. / もう一度サインインしてください。")
    return account


@router.get("/business/account")
def account_page(request: Request, session: DbSession, auth_session: BusinessSession) -> Response:
    return _account_page(request, session, _signed_in_account(session, auth_session))


@router.post("/business/account/members", dependencies=[CsrfProtected])
def add_member(
    request: Request,
    session: DbSession,
    auth_session: BusinessSession,
    login_id: Annotated[str, Form(max_length=256)],
    name: Annotated[str, Form(max_length=256)],
) -> Response:
    """A prime adds a member of the same company, who signs in with a one-time password."""
    prime = _signed_in_account(session, auth_session)
    try:
        issued = BusinessService(session).create_member(prime, login_id, name)
    except ProblemError as error:
        return _account_page(request, session, prime, error=error.detail, status_code=error.status)
    return _account_page(request, session, prime, issued=issued, status_code=201)


@router.get("/business/account/members/{account_id}/remove")
def remove_member_form(
    request: Request, session: DbSession, auth_session: BusinessSession, account_id: AccountId
) -> Response:
    """What removing the member means, and the button that does it (no script needed)."""
    prime = _signed_in_account(session, auth_session)
    member = BusinessService(session).company_member(prime, account_id)
    return render(request, "business/remove_member.html", {"member": member})


@router.post("/business/account/members/{account_id}/remove", dependencies=[CsrfProtected])
def remove_member(
    request: Request, session: DbSession, auth_session: BusinessSession, account_id: AccountId
) -> Response:
    """A prime removes a member of their company: the member can no longer sign in."""
    prime = _signed_in_account(session, auth_session)
    try:
        BusinessService(session).remove_member(prime, account_id)
    except ProblemError as error:
        return _account_page(request, session, prime, error=error.detail, status_code=error.status)
    return RedirectResponse(f"{ACCOUNT_PAGE}#members-heading", 303)
