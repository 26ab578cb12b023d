"""Enabling local governments as tenants and managing their API keys.

Only a municipality can be a tenant: a city, town or village, a special ward of Tokyo
(特別区) or a designated city (政令指定都市), whose residents live in its wards.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from kiban.core.identifiers import InvalidIdentifier, validate_local_government_code
from kiban.core.tenancy import IssuedToken, Tenant, TenantApiKey, issue_token
from kiban.registry.localgov.derive import MUNICIPALITY_KINDS, LocalGovernmentKind
from kiban.registry.localgov.models import LocalGovernment


class TenantError(ValueError):
    """A request about tenants that cannot be carried out; the message says why."""


@dataclass(frozen=True, slots=True)
class TenantSummary:
    code: str
    name: str
    enabled_at: datetime
    active_keys: int


class TenantService:
    """Tenant administration; like every service it flushes but never commits."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def municipality(self, text: str) -> LocalGovernment:
        """The municipality whose code is ``text``, or a TenantError saying why it cannot be one."""
        try:
            code = validate_local_government_code(text)
        except InvalidIdentifier as invalid:
            raise TenantError(str(invalid)) from None
        body = self.session.get(LocalGovernment, code)
        if body is None:
            raise TenantError(f"no local government has the code {code} / 該当する団体がありません")
        if body.kind == LocalGovernmentKind.WARD:
            raise TenantError(
                f"{code} {body.name} is a ward of a designated city; enable the city"
                f" {body.parent_code} instead / 行政区ではなく指定都市を指定してください"
            )
        if body.kind not in MUNICIPALITY_KINDS:
            raise TenantError(f"{code} {body.name} is not a municipality / 市区町村ではありません")
        return body

    def enable(self, text: str) -> tuple[Tenant, bool]:
        """Enable the municipality ``text``; the flag says whether it was newly enabled."""
        body = self.municipality(text)
        tenant = self.session.get(Tenant, body.code)
        if tenant is not None:
            return tenant, False
        tenant = Tenant(code=body.code, enabled_at=datetime.now(UTC))
        self.session.add(tenant)
        self.session.flush()
        return tenant, True

    def enable_many(self, codes: Sequence[str]) -> None:
        """Enable already validated municipality codes, in one statement for the new ones."""
        known = set(self.session.scalars(select(Tenant.code).where(Tenant.code.in_(codes))))
        now = datetime.now(UTC)
        new = [{"code": code, "enabled_at": now} for code in codes if code not in known]
        if new:
            self.session.execute(insert(Tenant), new)

    def enabled(self, text: str) -> Tenant:
        body = self.municipality(text)
        tenant = self.session.get(Tenant, body.code)
        if tenant is None:
            raise TenantError(
                f"{body.code} {body.name} is not enabled; run `kiban tenant enable {body.code}`"
                " / テナントとして有効化されていません"
            )
        return tenant

    def create_key(self, tenant_text: str, name: str) -> IssuedToken:
        """A new API key; the returned token is the only copy of its secret."""
        tenant = self.enabled(tenant_text)
        name = name.strip()
        if not name or len(name) > 64:
            raise TenantError("a key name must be 1-64 characters / キー名は1〜64文字です")
        issued = issue_token(tenant.code)
        self.session.add(
            TenantApiKey(
                tenant_code=tenant.code,
                key_id=issued.key_id,
                name=name,
                secret_sha256=issued.secret_sha256,
                created_at=datetime.now(UTC),
            )
        )
        self.session.flush()
        return issued

    def revoke_key(self, tenant_text: str, key_id: str) -> TenantApiKey:
        tenant = self.enabled(tenant_text)
        key = self.session.get(TenantApiKey, (tenant.code, key_id))
        if key is None:
            raise TenantError(f"{tenant.code} has no API key {key_id!r} / APIキーがありません")
        if key.revoked_at is None:
            key.revoked_at = datetime.now(UTC)
            self.session.flush()
        return key

    def keys(self, tenant_text: str) -> list[TenantApiKey]:
        tenant = self.enabled(tenant_text)
        statement = (
            select(TenantApiKey)
            .where(TenantApiKey.tenant_code == tenant.code)
            .order_by(TenantApiKey.created_at, TenantApiKey.key_id)
        )
        return list(self.session.scalars(statement))

    def summaries(self) -> list[TenantSummary]:
        active_keys = (
            select(TenantApiKey.tenant_code, func.count().label("active"))
            .where(TenantApiKey.revoked_at.is_(None))
            .group_by(TenantApiKey.tenant_code)
            .subquery()
        )
        statement = (
            select(Tenant.code, LocalGovernment.name, Tenant.enabled_at, active_keys.c.active)
            .join(LocalGovernment, LocalGovernment.code == Tenant.code)
            .outerjoin(active_keys, active_keys.c.tenant_code == Tenant.code)
            .order_by(Tenant.code)
        )
        return [
            TenantSummary(code, name, enabled_at, active or 0)
            for code, name, enabled_at, active in self.session.execute(statement)
        ]
