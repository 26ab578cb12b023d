"""The pages staff and business accounts share: password + TOTP sign-in and first sign-in set-up.

Both kinds sign in the same way (kiban.identity.credentials) and finish a first sign-in the
same way: the right password earns a short-lived set-up cookie, the set-up page enrols the
authenticator app and, when one must be chosen, sets a new password, and only then does a
session start.  ``PasswordTotpPages`` holds that flow once, with the routes that are the same
for both kinds (the sign-in form, the set-up page and its form) under ``/{kind}``.  Each kind
says how its accounts are named in the set-up cookie, found again, audited and given a
session, and declares its own sign-in post, since what that form asks for differs (staff
give their tenant's code).

Refusals re-render the form with the reason and the refusal's status rather than raising: the
form comes back with what was typed (never the password), and returning normally commits the
failure count and the audit event.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Generic
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
from kiban.core.sessions import SubjectKind, local_next, start_session
from kiban.core.throttle import client_ip
from kiban.identity.credentials import (
    PASSWORD_POLICY_TEXT,
    SETUP_TOKEN_LIFETIME,
    AccountT,
    InvalidCredential,
    SecretBox,
    SignInOutcome,
    SignInResult,
    provisioning_uri,
    qr_code_svg,
    totp_box,
)
from kiban.web.templating import templates

# A password and a one-time code: authenticator assurance level 2 (NIST SP 800-63B).
SIGN_IN_ACR = "aal2"
SIGN_IN_AMR = ("pwd", "otp")


def request_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def render(
    request: Request, name: str, context: Mapping[str, object], status_code: int = 200
) -> Response:
    return templates.TemplateResponse(request, name, dict(context), status_code=status_code)


@dataclass(frozen=True, slots=True)
class SessionSubject:
    """Whom a session is for, as start_session records it."""

    kind: SubjectKind
    subject_id: str
    tenant_code: str | None = None
    roles: tuple[str, ...] = ()


# Checks a posted sign-in form, given the TOTP box and the caller's address; refusals raise.
SignInCheck = Callable[[SecretBox, str], SignInOutcome[AccountT]]


class PasswordTotpPages(ABC, Generic[AccountT]):
    """Sign-in and first sign-in set-up for the accounts of one kind, under ``/{kind}``.

    ``kind`` (``staff``, ``business``) also names the templates' folder (``{kind}/signin.html``,
    ``{kind}/setup.html``), the set-up cookie and the audit action ``{kind}.sign_in``; ``home``
    is where a sign-in leads when no ``next`` says otherwise.  The kind's pages module includes
    ``router``.
    """

    def __init__(self, kind: str, home: str) -> None:
        self.kind = kind
        self.home = home
        self.path = f"/{kind}"
        self.setup_cookie = f"kiban_{kind}_setup"
        self.router = APIRouter(
            prefix=self.path, include_in_schema=False, default_response_class=HTMLResponse
        )
        self.router.add_api_route(
            "/signin", self.signin_form, methods=["GET"], dependencies=[PublicAccess]
        )
        self.router.add_api_route(
            "/setup", self.setup_form, methods=["GET"], dependencies=[PublicAccess]
        )
        self.router.add_api_route(
            "/setup", self.setup, methods=["POST"], dependencies=[PublicAccess, CsrfProtected]
        )

    # What each kind says ----------------------------------------------------------------

    @abstractmethod
    def setup_reference(self, account: AccountT) -> str:
        """How the set-up cookie names ``account``."""

    @abstractmethod
    def setup_account(self, session: Session, reference: str) -> AccountT | None:
        """The account a set-up cookie's ``reference`` names, if there is one."""

    @abstractmethod
    def audit_subject(self, account: AccountT) -> str:
        """The account's reference in the audit trail."""

    @abstractmethod
    def totp_label(self, account: AccountT) -> str:
        """The account's name in the authenticator app."""

    @abstractmethod
    def session_subject(self, account: AccountT) -> SessionSubject: ...

    # Sign-in ------------------------------------------------------------------------------

    def signin_form(self, request: Request, next: str | None = None) -> Response:
        return self.signin_page(request, {"next": local_next(next, self.home)})

    def signin_page(
        self, request: Request, context: Mapping[str, object], status_code: int = 200
    ) -> Response:
        return render(request, f"{self.kind}/signin.html", context, status_code)

    def sign_in(
        self,
        request: Request,
        session: Session,
        next_path: str | None,
        check: SignInCheck[AccountT],
        typed: Mapping[str, str],
    ) -> Response:
        """The answer to a posted sign-in form; ``typed`` is what it shows again if refused."""
        target = local_next(next_path, self.home)
        settings = request_settings(request)
        try:
            outcome = check(totp_box(settings), client_ip(request))
        except ProblemError as refusal:
            context = {"next": target, "error": refusal.detail, **typed}
            page = self.signin_page(request, context, refusal.status)
            page.headers.update(refusal.headers or {})
            return page
        if outcome.result is SignInResult.SETUP_REQUIRED:
            return self.to_setup(request, outcome.account, target)
        return self._signed_in(session, outcome.account, target, settings)

    def to_setup(self, request: Request, account: AccountT, target: str) -> Response:
        """On to the set-up page, which leads to ``target`` once the account is set up."""
        token = account.start_setup(datetime.now(UTC))
        response = RedirectResponse(f"{self.path}/setup?next={quote(target, safe='')}", 303)
        response.set_cookie(
            self.setup_cookie,
            f"{self.setup_reference(account)}.{token}",
            max_age=int(SETUP_TOKEN_LIFETIME.total_seconds()),
            path=self.path,
            secure=request_settings(request).secure_cookies,
            httponly=True,
            samesite="lax",
        )
        return response

    def _signed_in(
        self, session: Session, account: AccountT, target: str, settings: Settings
    ) -> Response:
        who = self.session_subject(account)
        response = RedirectResponse(target, 303)
        start_session(
            session,
            response,
            kind=who.kind,
            subject_id=who.subject_id,
            tenant_code=who.tenant_code,
            roles=who.roles,
            acr=SIGN_IN_ACR,
            amr=SIGN_IN_AMR,
            settings=settings,
        )
        return response

    # First sign-in set-up -----------------------------------------------------------------

    def _account_in_setup(self, request: Request, session: Session) -> AccountT | None:
        """The account whose first sign-in the set-up cookie continues, if it still may."""
        # The token is URL-safe base64, without dots; the reference may have some.
        reference, _, token = request.cookies.get(self.setup_cookie, "").rpartition(".")
        if not (reference and token):
            return None
        account = self.setup_account(session, reference)
        if account is None or account.disabled_at is not None:
            return None
        return account if account.setup_token_valid(token, datetime.now(UTC)) else None

    def _setup_page(
        self,
        request: Request,
        account: AccountT,
        next_path: str,
        error: str | None = None,
        status_code: int = 200,
    ) -> Response:
        context: dict[str, object] = {
            "next": next_path,
            "error": error,
            "account": account,
            "password_policy": PASSWORD_POLICY_TEXT,
            "setup_action": f"{self.path}/setup",
        }
        if account.totp_enrolled_at is None:
            secret = account.pending_totp_secret(totp_box(request_settings(request)))
            uri = provisioning_uri(secret, self.totp_label(account))
            context |= {"secret": secret, "qr_svg": qr_code_svg(uri)}
        return render(request, f"{self.kind}/setup.html", context, status_code)

    def setup_form(self, request: Request, session: DbSession, next: str | None = None) -> Response:
        account = self._account_in_setup(request, session)
        if account is None:
            return RedirectResponse(f"{self.path}/signin", 303)
        return self._setup_page(request, account, local_next(next, self.home))

    def setup(
        self,
        request: Request,
        session: DbSession,
        code: Annotated[str, Form(max_length=16)],
        new_password: Annotated[str | None, Form(max_length=256)] = None,
        confirm_password: Annotated[str | None, Form(max_length=256)] = None,
        next: Annotated[str | None, Form(max_length=2048)] = None,
    ) -> Response:
        target = local_next(next, self.home)
        account = self._account_in_setup(request, session)
        if account is None:
            return RedirectResponse(f"{self.path}/signin", 303)
        settings = request_settings(request)
        try:
            if new_password != confirm_password:
                raise InvalidCredential(
                    "確認用のパスワードが一致しません。 / The passwords do not match."
                )
            account.finish_setup(totp_box(settings), code, new_password, datetime.now(UTC))
        except InvalidCredential as error:
            return self._setup_page(request, account, target, str(error), 422)
        subject = self.audit_subject(account)
        record_audit(
            session,
            f"{self.kind}.sign_in",
            AuditOutcome.SUCCESS,
            actor=subject,
            tenant_code=self.session_subject(account).tenant_code,
            subject=subject,
            details={"reason": "setup_completed"},
        )
        response = self._signed_in(session, account, target, settings)
        response.delete_cookie(self.setup_cookie, path=self.path)
        return response
