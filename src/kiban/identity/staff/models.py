"""Staff accounts (職員アカウント), owned by each tenant.

``tenant_code`` comes first in the primary key, as in every tenant-owned table: a staff
member belongs to one local government and can never act for another.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from kiban.core.database import Base
from kiban.core.tenancy import StaffRole
from kiban.identity.credentials import CredentialColumns

ROLE_LABELS = {
    StaffRole.ADMIN: "管理者 / Administrator",
    StaffRole.SUPERVISOR: "決裁者 / Supervisor",
    StaffRole.CLERK: "担当者 / Clerk",
    StaffRole.AUDITOR: "監査担当 / Auditor",
}


class StaffAccount(CredentialColumns, Base):
    __tablename__ = "staff_accounts"

    tenant_code: Mapped[str] = mapped_column(
        String(6), ForeignKey("tenants.code"), primary_key=True
    )
    staff_id: Mapped[str] = mapped_column(String(16), primary_key=True)  # random, never reused
    login_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(64))
    roles: Mapped[str] = mapped_column(String(64))  # space-separated StaffRole values
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("uq_staff_accounts_login_id", "tenant_code", "login_id", unique=True),
        CheckConstraint("roles <> ''", name="roles"),
    )

    def credential_context(self) -> str:
        return f"staff:{self.tenant_code}:{self.staff_id}"

    @property
    def role_list(self) -> list[StaffRole]:
        return [StaffRole(role) for role in self.roles.split()]
