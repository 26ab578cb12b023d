"""Tenants, and who may act for one: its API keys and its signed-in staff.

A tenant is a local government enabled in this deployment.  Each tenant holds API keys, like
GOV.UK Notify's per-service keys: a random secret shown once when it is created, of which
only the SHA-256 is stored.  A token names its tenant and key, ``kiban_{tenant}_{key}_{secret}``,
so that it is checked by primary key within its tenant and no table is searched across tenants.
People act for a tenant as its staff, signed in with a session that names the tenant and the
staff member's roles (kiban.identity.staff).

Once a request is authorised, its transaction is bound to its tenant; on PostgreSQL the
``tenant_isolation`` row-level security policies then refuse every other tenant's rows.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from fastapi import Depends, Path
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import DateTime, ForeignKey, String, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from kiban.core.access import declare_access
from kiban.core.database import Base
from kiban.core.dependencies import DbSession
from kiban.core.errors import Forbidden, Unauthorized
from kiban.core.sessions import OptionalSession, SubjectKind

TOKEN_PREFIX = "kiban"


class Tenant(Base):
    """A local government that uses this deployment; every tenant-owned row refers to one."""

    __tablename__ = "tenants"

    code: Mapped[str] = mapped_column(
        String(6), ForeignKey("local_governments.code"), primary_key=True
    )
    enabled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class TenantApiKey(Base):
    __tablename__ = "tenant_api_keys"

    tenant_code: Mapped[str] = mapped_column(
        String(6), ForeignKey("tenants.code"), primary_key=True
    )
    key_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    secret_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


@dataclass(frozen=True, slots=True)
class IssuedToken:
    key_id: str
    token: str
    secret_sha256: str


def issue_token(tenant_code: str) -> IssuedToken:
    """A new random token for ``tenant_code``; only its hash is ever stored."""
    key_id = secrets.token_hex(4)
    token = f"{TOKEN_PREFIX}_{tenant_code}_{key_id}_{secrets.token_urlsafe(32)}"
    return IssuedToken(key_id, token, token_sha256(token))


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class StaffRole(StrEnum):
    ADMIN = "admin"  # manages the tenant's staff and settings
    CLERK = "clerk"  # keeps records and handles cases
    SUPERVISOR = "supervisor"  # approves what clerks prepare
    AUDITOR = "auditor"  # reads everything, changes nothing


@dataclass(frozen=True, slots=True)
class TenantCaller:
    """Who acts for the tenant: one of its API keys, or one of its staff with their roles."""

    tenant_code: str
    key_id: str | None = None
    staff_id: str | None = None
    roles: frozenset[str] = frozenset()

    @property
    def actor(self) -> str:
        """The audit trail's name for the caller."""
        if self.staff_id is not None:
            return f"staff:{self.tenant_code}:{self.staff_id}"
        return f"api-key:{self.tenant_code}:{self.key_id}"


def authenticate_token(session: Session, token: str) -> TenantCaller | None:
    """The tenant and key of a valid, unrevoked token, or None."""
    prefix, _, rest = token.partition("_")
    tenant_code, _, rest = rest.partition("_")
    key_id, _, secret = rest.partition("_")
    if prefix != TOKEN_PREFIX or not (tenant_code and key_id and secret):
        return None
    key = session.get(TenantApiKey, (tenant_code, key_id))
    if key is None or key.revoked_at is not None:
        return None
    if not hmac.compare_digest(key.secret_sha256, token_sha256(token)):
        return None
    return TenantCaller(tenant_code=tenant_code, key_id=key_id)


def bind_tenant(session: Session, tenant_code: str) -> None:
    """Limit the rest of ``session``'s transaction to the rows of ``tenant_code``.

    The setting is transaction-local, so it ends with the commit or rollback and never
    follows the connection back into the pool.  SQLite has no row-level security.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT set_config('kiban.tenant_code', :tenant_code, true)"),
            {"tenant_code": tenant_code},
        )


_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="TenantApiKey",
    description="A tenant API key from `kiban tenant key create` / テナントのAPIキー",
)


@declare_access
def tenant_access(
    tenant_code: Annotated[
        str, Path(pattern=r"^\d{6}$", description="The tenant's 全国地方公共団体コード")
    ],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    auth_session: OptionalSession,
    session: DbSession,
) -> TenantCaller:
    """The tenant named in the path, and only its own API key or its own signed-in staff.

    A key is looked up unbound; the request's transaction is bound to the tenant after.
    """
    if credentials is not None:
        caller = authenticate_token(session, credentials.credentials)
        if caller is None:
            raise Unauthorized("The API key is not valid or has been revoked.")
    elif auth_session is not None and auth_session.kind is SubjectKind.STAFF:
        assert auth_session.tenant_code is not None
        caller = TenantCaller(
            tenant_code=auth_session.tenant_code,
            staff_id=auth_session.subject_id,
            roles=auth_session.role_set,
        )
    elif auth_session is not None:
        raise Forbidden("Only the tenant's staff may do this. / 職員のみが操作できます。")
    else:
        raise Unauthorized(
            "Send a tenant API key as `Authorization: Bearer <token>`, or sign in as staff."
        )
    if caller.tenant_code != tenant_code:
        raise Forbidden(f"The caller belongs to another tenant than {tenant_code}.")
    bind_tenant(session, tenant_code)
    return caller


TenantAccess = Annotated[TenantCaller, Depends(tenant_access)]


def require_roles(
    *roles: StaffRole, api_keys: bool = True
) -> Callable[[TenantCaller], TenantCaller]:
    """A dependency: the tenant's caller, if they hold one of ``roles``.

    An API key is a system integration of the tenant's own; ``api_keys`` says whether the
    route serves integrations at all.
    """
    allowed = frozenset(roles)

    def check(caller: TenantAccess) -> TenantCaller:
        if caller.staff_id is None:
            if not api_keys:
                raise Forbidden("API keys cannot do this; a staff member must sign in.")
            return caller
        if not caller.roles & allowed:
            names = ", ".join(sorted(role.value for role in allowed))
            raise Forbidden(f"This needs one of the roles: {names}. / 権限がありません。")
        return caller

    return declare_access(check)


RecordKeeper = Annotated[
    TenantCaller,
    Depends(require_roles(StaffRole.ADMIN, StaffRole.CLERK, StaffRole.SUPERVISOR)),
]
"""Who may change a tenant's records: every staff role but the auditor's, and API keys."""
