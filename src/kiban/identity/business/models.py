"""Business IDs (GビズID-like accounts), one national table: a company is not a tenant's.

* ``prime``: the company's representative, created after a card sign-in for a 法人番号 in the
  corporation registry; name from the resident record.  At most one per company.
* ``member``: created by the prime of the same company.
* ``entry``: self-registered, identity not checked; a company's number is optional.

An account is disabled, never deleted (the audit trail names it), for one of the reasons in
``DisabledReason``.  Only an active prime counts as the company's one prime: when the
representative moves out or dies their prime is disabled, and the next representative
registers a new one, who then manages the company's members.
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


class DisabledReason(StrEnum):
    OPERATOR = "operator"  # kiban business disable
    REMOVED_BY_PRIME = "removed_by_prime"  # a member the company's prime removed
    REPRESENTATIVE_REMOVED = "representative_removed"  # the prime's person moved out or died


_ONE_ACTIVE_PRIME = text("account_type = 'prime' AND disabled_at IS NULL")
_DISABLED_REASONS = ", ".join(f"'{reason.value}'" for reason in DisabledReason)


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
    disabled_reason: Mapped[str | None] = mapped_column(String(24))  # set with disabled_at

    __table_args__ = (
        Index("uq_business_accounts_login_id", "login_id", unique=True),
        Index("ix_business_accounts_corporate_number", "corporate_number"),
        # A 転出 or 死亡 looks up the primes the person represents.
        Index("ix_business_accounts_resident_ref", "resident_ref"),
        Index(
            "uq_business_accounts_one_prime",
            "corporate_number",
            unique=True,
            sqlite_where=_ONE_ACTIVE_PRIME,
            postgresql_where=_ONE_ACTIVE_PRIME,
        ),
        CheckConstraint("account_type IN ('prime', 'member', 'entry')", name="account_type"),
        CheckConstraint("corp_type IN ('corporation', 'sole_proprietor')", name="corp_type"),
        # Prime and member accounts always belong to a registered company.
        CheckConstraint("account_type = 'entry' OR corporate_number IS NOT NULL", name="company"),
        # A disabled account always says why; an active one has no reason.
        CheckConstraint(
            "disabled_at IS NULL AND disabled_reason IS NULL"
            f" OR disabled_at IS NOT NULL AND disabled_reason IN ({_DISABLED_REASONS})",
            name="disabled_reason",
        ),
    )

    def credential_context(self) -> str:
        return f"business:{self.account_id}"

    @property
    def type(self) -> AccountType:
        return AccountType(self.account_type)
