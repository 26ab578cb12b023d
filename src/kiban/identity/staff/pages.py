"""Staff pages: sign-in, first sign-in set-up, the workspace, and the tenant's staff list.

Sign-in and set-up are public pages (a person who is not signed in uses them), shared with
business IDs (kiban.identity.accounts_web); the staff list is a tenant route, open only to an
``admin`` of that tenant (``tenant_access`` + ``require_roles``).  Every form posts with a
CSRF token; refusals re-render the form with the reason and the refusal's status.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session
from starlette.responses import Response

from kiban.core.access import PublicAccess
from kiban.core.csrf import CsrfProtected
from kiban.core.dependencies import DbSession
from kiban.core.errors import ProblemError
from kiban.core.sessions import StaffSession, SubjectKind, end_session
from kiban.core.tenancy import StaffRole, TenantCaller, require_roles
from kiban.identity.accounts_web import PasswordTotpPages, SessionSubject, render
from kiban.identity.credentials import IssuedPassword, SecretBox, SignInOutcome
from kiban.identity.staff.demo_pages import router as demo_pages_router
from kiban.identity.staff.models import ROLE_LABELS, StaffAccount
from kiban.identity.staff.repository import StaffRepository
from kiban.identity.staff.service import StaffService, staff_sign_in, staff_subject

WORKSPACE = "/staff"

StaffAdmin = Annotated[TenantCaller, Depends(require_roles(StaffRole.ADMIN))]


class StaffSignInPages(PasswordTotpPages[StaffAccount]):
    def setup_reference(self, account: StaffAccount) -> str:
        return f"{account.tenant_code}.{account.staff_id}"

    def setup_account(self, session: Session, reference: str) -> StaffAccount | None:
        tenant_code, _, staff_id = reference.partition(".")
        if not (tenant_code.isdigit() and len(tenant_code) == 6 and staff_id):
            return None
        return StaffRepository(session, tenant_code).get(staff_id)

    def audit_subject(self, account: StaffAccount) -> str:
        return staff_subject(account)

    def totp_label(self, account: StaffAccount) -> str:
        return f"{account.tenant_code}:{account.login_id}"

    def session_subject(self, account: StaffAccount) -> SessionSubject:
        return SessionSubject(
            SubjectKind.STAFF, account.staff_id, account.tenant_code, tuple(account.roles.split())
        )


sign_in_pages = StaffSignInPages("staff", home=WORKSPACE)

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
router.include_router(sign_in_pages.router)
router.include_router(demo_pages_router)


# Sign-in (the form, and set-up, come from sign_in_pages) ------------------------------------


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
    def check(box: SecretBox, ip: str) -> SignInOutcome[StaffAccount]:
        return staff_sign_in(
            session,
            box,
            tenant_code=tenant_code,
            login_id=login_id,
            password=password,
            code=code,
            ip=ip,
        )

    typed = {"tenant_code": tenant_code, "login_id": login_id}
    return sign_in_pages.sign_in(request, session, next, check, typed)


@router.get("/staff")
def workspace(request: Request, session: DbSession, auth_session: StaffSession) -> Response:
    assert auth_session.tenant_code is not None
    account = StaffRepository(session, auth_session.tenant_code).get(auth_session.subject_id)
    return render(
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
    return render(
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


def _password_page(
    request: Request, issued: IssuedPassword[StaffAccount], status_code: int
) -> Response:
    return render(request, "staff/password.html", {"issued": issued}, status_code)


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
    return render(
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


def _change_account(
    request: Request, service: StaffService, staff_id: str, change: Callable[[], StaffAccount]
) -> Response:
    """Back to the account's page after ``change``, or that page with why it was refused."""
    try:
        account = change()
    except ProblemError as error:
        if error.status == 404:
            raise
        return _detail_page(request, service.account(staff_id), error.detail, error.status)
    return RedirectResponse(f"/tenants/{account.tenant_code}/staff/{account.staff_id}", 303)


@router.post("/tenants/{tenant_code}/staff/{staff_id}/roles", dependencies=[CsrfProtected])
def change_roles(
    request: Request,
    session: DbSession,
    caller: StaffAdmin,
    staff_id: str,
    roles: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies the default
) -> Response:
    service = _admin_service(session, caller)
    return _change_account(request, service, staff_id, partial(service.set_roles, staff_id, roles))


@router.post("/tenants/{tenant_code}/staff/{staff_id}/disable", dependencies=[CsrfProtected])
def disable_staff(
    request: Request, session: DbSession, caller: StaffAdmin, staff_id: str
) -> Response:
    service = _admin_service(session, caller)
    return _change_account(request, service, staff_id, partial(service.disable, staff_id))


@router.post("/tenants/{tenant_code}/staff/{staff_id}/reset", dependencies=[CsrfProtected])
def reset_staff(
    request: Request, session: DbSession, caller: StaffAdmin, staff_id: str
) -> Response:
    issued = _admin_service(session, caller).reset(staff_id)
    return _password_page(request, issued, 200)
