"""Staff pages: sign-in, first sign-in set-up, the workspace, and the tenant's staff list.

Sign-in and set-up are public pages (a person who is not signed in uses them); the staff list
is a tenant route, open only to an ``admin`` of that tenant (``tenant_access`` +
``require_roles``).  Every form posts with a CSRF token; refusals re-render the form with the
reason and the refusal's status, and the failure count and audit event are committed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
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
    StaffSession,
    SubjectKind,
    end_session,
    local_next,
    start_session,
)
from kiban.core.tenancy import StaffRole, TenantCaller, require_roles
from kiban.core.throttle import client_ip
from kiban.identity.credentials import (
    PASSWORD_POLICY_TEXT,
    InvalidCredential,
    SignInResult,
    provisioning_uri,
    qr_code_svg,
    totp_box,
)
from kiban.identity.staff.models import ROLE_LABELS, StaffAccount
from kiban.identity.staff.repository import StaffRepository
from kiban.identity.staff.service import (
    IssuedPassword,
    StaffService,
    staff_sign_in,
    staff_subject,
)
from kiban.web.templating import templates

SETUP_COOKIE = "kiban_staff_setup"
WORKSPACE = "/staff"

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

StaffAdmin = Annotated[TenantCaller, Depends(require_roles(StaffRole.ADMIN))]


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _render(
    request: Request, name: str, context: dict[str, object], status_code: int = 200
) -> Response:
    return templates.TemplateResponse(request, name, context, status_code=status_code)


# Sign-in and set-up -----------------------------------------------------------------------


@router.get("/staff/signin", dependencies=[PublicAccess])
def signin_form(request: Request, next: str | None = None) -> Response:
    return _render(request, "staff/signin.html", {"next": local_next(next, WORKSPACE)})


@router.post("/staff/signin", dependencies=[PublicAccess, CsrfProtected])
def signin(
    request: Request,
    session: DbSession,
    tenant_code: Annotated[str, Form(max_length=16)],
    login_id: Annotated[str, Form(max_length=256)],
    password: Annotated[str, Form(max_length=256)],
    code: Annotated[str, Form(max_length=16)] = "",
    next: Annotated[str, Form(max_length=2048)] = WORKSPACE,
) -> Response:
    target = local_next(next, WORKSPACE)
    settings = _settings(request)
    try:
        outcome = staff_sign_in(
            session,
            totp_box(settings),
            tenant_code=tenant_code,
            login_id=login_id,
            password=password,
            code=code,
            ip=client_ip(request),
        )
    except ProblemError as refusal:
        # Rendered rather than raised: the form comes back with what was typed (never the
        # password), and returning normally commits the failure count and audit event.
        page = _render(
            request,
            "staff/signin.html",
            {
                "next": target,
                "error": refusal.detail,
                "tenant_code": tenant_code,
                "login_id": login_id,
            },
            status_code=refusal.status,
        )
        page.headers.update(refusal.headers or {})
        return page
    account = outcome.account
    if outcome.result is SignInResult.SETUP_REQUIRED:
        token = account.start_setup(datetime.now(UTC))
        response = RedirectResponse(f"/staff/setup?next={quote(target, safe='')}", 303)
        response.set_cookie(
            SETUP_COOKIE,
            f"{account.tenant_code}.{account.staff_id}.{token}",
            max_age=600,
            path="/staff",
            secure=settings.secure_cookies,
            httponly=True,
            samesite="lax",
        )
        return response
    response = RedirectResponse(target, 303)
    _start(session, response, account, settings)
    return response


def _start(session: Session, response: Response, account: StaffAccount, settings: Settings) -> None:
    start_session(
        session,
        response,
        kind=SubjectKind.STAFF,
        subject_id=account.staff_id,
        tenant_code=account.tenant_code,
        roles=account.roles.split(),
        acr="aal2",
        amr=["pwd", "otp"],
        settings=settings,
    )


def _setup_account(request: Request, session: Session) -> StaffAccount | None:
    """The account whose first sign-in the setup cookie continues, if it is still valid."""
    tenant_code, _, rest = request.cookies.get(SETUP_COOKIE, "").partition(".")
    staff_id, _, token = rest.partition(".")
    if not (tenant_code.isdigit() and len(tenant_code) == 6 and staff_id and token):
        return None
    account = StaffRepository(session, tenant_code).get(staff_id)
    if account is None or account.disabled_at is not None:
        return None
    return account if account.setup_token_valid(token, datetime.now(UTC)) else None


def _setup_page(
    request: Request,
    account: StaffAccount,
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
        uri = provisioning_uri(secret, f"{account.tenant_code}:{account.login_id}")
        context |= {"secret": secret, "qr_svg": qr_code_svg(uri)}
    return _render(request, "staff/setup.html", context, status_code)


@router.get("/staff/setup", dependencies=[PublicAccess])
def setup_form(request: Request, session: DbSession, next: str | None = None) -> Response:
    account = _setup_account(request, session)
    if account is None:
        return RedirectResponse("/staff/signin", 303)
    return _setup_page(request, account, local_next(next, WORKSPACE))


@router.post("/staff/setup", dependencies=[PublicAccess, CsrfProtected])
def setup(
    request: Request,
    session: DbSession,
    code: Annotated[str, Form(max_length=16)],
    new_password: Annotated[str | None, Form(max_length=256)] = None,
    confirm_password: Annotated[str | None, Form(max_length=256)] = None,
    next: Annotated[str, Form(max_length=2048)] = WORKSPACE,
) -> Response:
    target = local_next(next, WORKSPACE)
    account = _setup_account(request, session)
    if account is None:
        return RedirectResponse("/staff/signin", 303)
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
        "staff.sign_in",
        AuditOutcome.SUCCESS,
        actor=staff_subject(account),
        tenant_code=account.tenant_code,
        subject=staff_subject(account),
        details={"reason": "setup_completed"},
    )
    response = RedirectResponse(target, 303)
    response.delete_cookie(SETUP_COOKIE, path="/staff")
    _start(session, response, account, _settings(request))
    return response


@router.get("/staff")
def workspace(request: Request, session: DbSession, auth_session: StaffSession) -> Response:
    assert auth_session.tenant_code is not None
    account = StaffRepository(session, auth_session.tenant_code).get(auth_session.subject_id)
    return _render(
        request,
        "staff/workspace.html",
        {"account": account, "auth_session": auth_session, "role_labels": ROLE_LABELS},
    )


@router.post("/staff/signout", dependencies=[CsrfProtected])
def signout(session: DbSession, auth_session: StaffSession) -> Response:
    response = RedirectResponse("/", 303)
    end_session(session, response, auth_session)
    return response


# The tenant's staff, for its administrators -------------------------------------------------


def _admin_service(session: Session, caller: TenantCaller) -> StaffService:
    return StaffService(session, caller.tenant_code, actor=caller.actor)


def _list_page(
    request: Request,
    service: StaffService,
    error: str | None = None,
    form: dict[str, object] | None = None,
    status_code: int = 200,
) -> Response:
    return _render(
        request,
        "staff/list.html",
        {
            "tenant_code": service.tenant_code,
            "accounts": service.accounts(),
            "roles": list(StaffRole),
            "role_labels": ROLE_LABELS,
            "error": error,
            "form": form or {},
        },
        status_code,
    )


def _password_page(request: Request, issued: IssuedPassword, status_code: int) -> Response:
    return _render(request, "staff/password.html", {"issued": issued}, status_code)


@router.get("/tenants/{tenant_code}/staff")
def staff_list(request: Request, session: DbSession, caller: StaffAdmin) -> Response:
    return _list_page(request, _admin_service(session, caller))


@router.post("/tenants/{tenant_code}/staff", dependencies=[CsrfProtected])
def create_staff(
    request: Request,
    session: DbSession,
    caller: StaffAdmin,
    login_id: Annotated[str, Form(max_length=256)],
    name: Annotated[str, Form(max_length=256)],
    roles: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies the default
) -> Response:
    service = _admin_service(session, caller)
    try:
        issued = service.create(login_id, name, roles)
    except ProblemError as error:
        form: dict[str, object] = {"login_id": login_id, "name": name, "roles": roles}
        return _list_page(request, service, error.detail, form, error.status)
    return _password_page(request, issued, 201)


@router.get("/tenants/{tenant_code}/staff/{staff_id}")
def staff_detail(
    request: Request, session: DbSession, caller: StaffAdmin, staff_id: str
) -> Response:
    account = _admin_service(session, caller).account(staff_id)
    return _detail_page(request, account)


def _detail_page(
    request: Request, account: StaffAccount, error: str | None = None, status_code: int = 200
) -> Response:
    return _render(
        request,
        "staff/detail.html",
        {
            "account": account,
            "roles": list(StaffRole),
            "role_labels": ROLE_LABELS,
            "error": error,
        },
        status_code,
    )


@router.post("/tenants/{tenant_code}/staff/{staff_id}/roles", dependencies=[CsrfProtected])
def change_roles(
    request: Request,
    session: DbSession,
    caller: StaffAdmin,
    staff_id: str,
    roles: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies the default
) -> Response:
    service = _admin_service(session, caller)
    try:
        account = service.set_roles(staff_id, roles)
    except ProblemError as error:
        if error.status == 404:
            raise
        return _detail_page(request, service.account(staff_id), error.detail, error.status)
    return RedirectResponse(f"/tenants/{account.tenant_code}/staff/{account.staff_id}", 303)


@router.post("/tenants/{tenant_code}/staff/{staff_id}/disable", dependencies=[CsrfProtected])
def disable_staff(
    request: Request, session: DbSession, caller: StaffAdmin, staff_id: str
) -> Response:
    service = _admin_service(session, caller)
    try:
        account = service.disable(staff_id)
    except ProblemError as error:
        if error.status == 404:
            raise
        return _detail_page(request, service.account(staff_id), error.detail, error.status)
    return RedirectResponse(f"/tenants/{account.tenant_code}/staff/{account.staff_id}", 303)


@router.post("/tenants/{tenant_code}/staff/{staff_id}/reset", dependencies=[CsrfProtected])
def reset_staff(
    request: Request, session: DbSession, caller: StaffAdmin, staff_id: str
) -> Response:
    issued = _admin_service(session, caller).reset(staff_id)
    return _password_page(request, issued, 200)
