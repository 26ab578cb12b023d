"""Staff accounts of one tenant: creation, roles, disabling, resets and sign-in.

Every change is audited with the acting administrator (or ``operator`` for the CLI).  A
disabled account, or one whose roles changed, loses its open sessions at once, so a change
takes effect on the next request rather than when a session happens to expire.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from kiban.core.audit import AuditOutcome, record_audit
from kiban.core.errors import NotFound, ProblemError
from kiban.core.sessions import SubjectKind, end_subject_sessions
from kiban.core.tenancy import StaffRole
from kiban.identity.credentials import (
    IssuedPassword,
    SecretBox,
    SignInAttempt,
    SignInOutcome,
    SignInPolicy,
    check_password_policy,
    generate_password,
    invalid_credential_as,
    normalize_login_id,
    person_name,
    sign_in,
    sign_in_login_id,
)
from kiban.identity.staff.models import StaffAccount
from kiban.identity.staff.repository import StaffRepository
from kiban.tenants.service import TenantError, TenantService

STAFF_SIGN_IN = SignInPolicy(kind="staff")
OPERATOR = "operator"  # the actor of CLI changes: whoever runs kiban on the server
NAME_MAX_LENGTH = 64
_TENANT_CODE = re.compile(r"\d{6}")


class InvalidStaffRequest(ProblemError):
    def __init__(self, detail: str) -> None:
        super().__init__(
            422, "invalid-staff", "入力内容を確認してください / Invalid request", detail
        )


class StaffConflict(ProblemError):
    def __init__(self, detail: str) -> None:
        super().__init__(409, "staff-conflict", "登録できません / Conflict", detail)


def parse_roles(values: Iterable[str]) -> list[StaffRole]:
    """Role names (``admin``, ``clerk``, ...) as roles, at least one, each once."""
    roles: list[StaffRole] = []
    for value in values:
        try:
            role = StaffRole(value.strip().lower())
        except ValueError:
            names = ", ".join(role.value for role in StaffRole)
            raise InvalidStaffRequest(
                f"役割は {names} のいずれかです。 / A role is one of {names}."
            ) from None
        if role not in roles:
            roles.append(role)
    if not roles:
        raise InvalidStaffRequest("役割を1つ以上選んでください。 / Choose at least one role.")
    return sorted(roles)


def staff_subject(account: StaffAccount) -> str:
    return f"staff:{account.tenant_code}:{account.staff_id}"


class StaffService:
    """The staff of one tenant, changed by ``actor`` (an audit reference)."""

    def __init__(self, session: Session, tenant_code: str, *, actor: str = OPERATOR) -> None:
        self.session = session
        self.tenant_code = tenant_code
        self.actor = actor
        self.repository = StaffRepository(session, tenant_code)

    @classmethod
    def for_enabled_tenant(
        cls, session: Session, text: str, *, actor: str = OPERATOR
    ) -> StaffService:
        """For the CLI: the tenant ``text`` names, which must be enabled."""
        try:
            tenant = TenantService(session).enabled(text)
        except TenantError as error:
            raise InvalidStaffRequest(str(error)) from None
        return cls(session, tenant.code, actor=actor)

    # Reads ------------------------------------------------------------------------------

    def accounts(self) -> list[StaffAccount]:
        return self.repository.all()

    def account(self, staff_id: str) -> StaffAccount:
        account = self.repository.get(staff_id)
        if account is None:
            raise NotFound(f"Tenant {self.tenant_code} has no such staff account.")
        return account

    def by_login_id(self, text: str) -> StaffAccount:
        with invalid_credential_as(InvalidStaffRequest):
            login = normalize_login_id(text)
        account = self.repository.by_login_id(login)
        if account is None:
            raise NotFound(f"Tenant {self.tenant_code} has no staff with this login id.")
        return account

    # Changes ----------------------------------------------------------------------------

    def create(
        self, login_id: str, name: str, roles: Iterable[str], password: str | None = None
    ) -> IssuedPassword[StaffAccount]:
        """A new account; without ``password`` a one-time one is generated and must be changed."""
        with invalid_credential_as(InvalidStaffRequest):
            login = normalize_login_id(login_id)
            role_list = parse_roles(roles)
            clean_name = person_name(name, NAME_MAX_LENGTH)
            if password is not None:
                check_password_policy(password, login)
        if self.repository.by_login_id(login) is not None:
            raise StaffConflict(
                f"ログインID {login} は使われています。 / The login id {login} is taken."
            )
        initial = password if password is not None else generate_password()
        account = StaffAccount(
            tenant_code=self.tenant_code,
            staff_id=secrets.token_hex(8),
            login_id=login,
            name=clean_name,
            roles=" ".join(role_list),
            created_at=datetime.now(UTC),
            password_must_change=password is None,
        )
        account.set_password(initial)
        self.repository.add(account)
        self._audit("staff.create", account, roles=account.roles)
        return IssuedPassword(account, initial)

    def set_roles(self, staff_id: str, roles: Iterable[str]) -> StaffAccount:
        account = self.account(staff_id)
        role_list = parse_roles(roles)
        if self._is_self(account) and StaffRole.ADMIN not in role_list:
            raise StaffConflict(
                "自分の管理者権限は外せません。 / You cannot remove your own admin role."
            )
        account.roles = " ".join(role_list)
        end_subject_sessions(self.session, SubjectKind.STAFF, account.staff_id)
        self.session.flush()
        self._audit("staff.roles", account, roles=account.roles)
        return account

    def disable(self, staff_id: str) -> StaffAccount:
        account = self.account(staff_id)
        if self._is_self(account):
            raise StaffConflict("自分は無効にできません。 / You cannot disable yourself.")
        if account.disabled_at is None:
            account.disabled_at = datetime.now(UTC)
            end_subject_sessions(self.session, SubjectKind.STAFF, account.staff_id)
            self.session.flush()
            self._audit("staff.disable", account)
        return account

    def reset(self, staff_id: str, password: str | None = None) -> IssuedPassword[StaffAccount]:
        """A new one-time password and TOTP to enrol again; the account is enabled again."""
        account = self.account(staff_id)
        if password is not None:
            with invalid_credential_as(InvalidStaffRequest):
                check_password_policy(password, account.login_id)
        new_password = password if password is not None else generate_password()
        account.reset_credentials(new_password)
        account.disabled_at = None
        end_subject_sessions(self.session, SubjectKind.STAFF, account.staff_id)
        self.session.flush()
        self._audit("staff.reset", account)
        return IssuedPassword(account, new_password)

    # Helpers ----------------------------------------------------------------------------

    def _is_self(self, account: StaffAccount) -> bool:
        return self.actor == staff_subject(account)

    def _audit(self, action: str, account: StaffAccount, **details: str) -> None:
        record_audit(
            self.session,
            action,
            AuditOutcome.SUCCESS,
            actor=self.actor,
            tenant_code=self.tenant_code,
            subject=staff_subject(account),
            details=details or None,
        )


def staff_sign_in(
    session: Session,
    box: SecretBox,
    *,
    tenant_code: str,
    login_id: str,
    password: str,
    code: str,
    ip: str,
    now: datetime | None = None,
) -> SignInOutcome[StaffAccount]:
    """Sign a staff member in to their tenant; refusals raise (see credentials.sign_in)."""
    tenant = tenant_code.strip()
    login = sign_in_login_id(login_id)
    account = None
    if _TENANT_CODE.fullmatch(tenant):
        account = StaffRepository(session, tenant).by_login_id(login)
    attempt = SignInAttempt(
        ip=ip,
        login_key=f"{tenant[:6]}:{login}",
        password=password,
        code=code,
        tenant_code=tenant if account is not None else None,
    )
    subject = staff_subject(account) if account is not None else None
    return sign_in(session, STAFF_SIGN_IN, attempt, account, subject, box, now=now)
