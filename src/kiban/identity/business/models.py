"""Business IDs (GビズID-like accounts), one national table: a company is not a tenant's.

* ``prime``: the company's representative, created after a card sign-in for a 法人番号 in the
  corporation registry; name from the resident record.  At most one per company.
* ``member``: created by the prime of the same company.
* ``entry``: self-registered, identity not checked; a company's number is optional.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from kiban.core.database import Base
from kiban.identity.credentials import CredentialColumns


class AccountType(StrEnum):
    PRIME = "prime"
    MEMBER = "member"
    ENTRY = "entry"

    @property
    def ial(self) -> str:
        """Identity assurance (NIST SP 800-63A): checked against the card and registry, or not."""
        return "ial1" if self is AccountType.ENTRY else "ial2"


class CorpType(StrEnum):
    CORPORATION = "corporation"  # 法人
    SOLE_PROPRIETOR = "sole_proprietor"  # 個人事業主


_ONE_PRIME = text("account_type = 'prime'")


class BusinessAccount(CredentialColumns, Base):
    __tablename__ = "business_accounts"

    account_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    login_id: Mapped[str] = mapped_column(String(64))
    account_type: Mapped[str] = mapped_column(String(8))
    corp_type: Mapped[str] = mapped_column(String(16))
    corporate_number: Mapped[str | None] = mapped_column(
        String(13), ForeignKey("corporations.number")
    )
    name: Mapped[str] = mapped_column(String(128))  # the person's name
    # A prime's resident record ("{tenant_code}:{addressee_number}"), its name's source.
    resident_ref: Mapped[str | None] = mapped_column(String(24))
    created_by: Mapped[str | None] = mapped_column(String(16))  # a member's prime
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("uq_business_accounts_login_id", "login_id", unique=True),
        Index("ix_business_accounts_corporate_number", "corporate_number"),
        Index(
            "uq_business_accounts_one_prime",
            "corporate_number",
            unique=True,
            sqlite_where=_ONE_PRIME,
            postgresql_where=_ONE_PRIME,
        ),
        CheckConstraint("account_type IN ('prime', 'member', 'entry')", name="account_type"),
        CheckConstraint("corp_type IN ('corporation', 'sole_proprietor')", name="corp_type"),
        # Prime and member accounts always belong to a registered company.
        CheckConstraint("account_type = 'entry' OR corporate_number IS NOT NULL", name="company"),
    )

    def credential_context(self) -> str:
        return f"business:{self.account_id}"

    @property
    def type(self) -> AccountType:
        return AccountType(self.account_type)
