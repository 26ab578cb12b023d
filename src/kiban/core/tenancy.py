"""Tenants and their API keys: who a request acts for.

A tenant is a local government enabled in this deployment.  Each tenant holds API keys, like
GOV.UK Notify's per-service keys: a random secret shown once when it is created, of which
only the SHA-256 is stored.  A token names its tenant and key, ``kiban_{tenant}_{key}_{secret}``,
so that it is checked by primary key within its tenant and no table is searched across tenants.

Once a request is authorised, its transaction is bound to its tenant; on PostgreSQL the
``tenant_isolation`` row-level security policies then refuse every other tenant's rows.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Path
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import DateTime, ForeignKey, String, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from kiban.core.database import Base
from kiban.core.dependencies import DbSession
from kiban.core.errors import Forbidden, Unauthorized

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


@dataclass(frozen=True, slots=True)
class TenantCaller:
    """The tenant a request was authenticated as, and the key it used."""

    tenant_code: str
    key_id: str


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


def tenant_api_key_access(
    tenant_code: Annotated[
        str, Path(pattern=r"^\d{6}$", description="The tenant's 全国地方公共団体コード")
    ],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    session: DbSession,
) -> TenantCaller:
    """The tenant named in the path, and only with one of its own API keys.

    The key is looked up unbound; the request's transaction is bound to the tenant after.
    """
    if credentials is None:
        raise Unauthorized("Send a tenant API key as `Authorization: Bearer <token>`.")
    caller = authenticate_token(session, credentials.credentials)
    if caller is None:
        raise Unauthorized("The API key is not valid or has been revoked.")
    if caller.tenant_code != tenant_code:
        raise Forbidden(f"This API key belongs to another tenant than {tenant_code}.")
    bind_tenant(session, tenant_code)
    return caller


TenantAccess = Annotated[TenantCaller, Depends(tenant_api_key_access)]
