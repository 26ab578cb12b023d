"""What the provider systems keep beyond the resident records: the tax ledger behind the
income certificate, and the keys of the members whose systems kiban hosts outside tenancy.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from kiban.core.database import Base
from kiban.residents.models import Resident


class ResidentIncome(Base):
    """One resident's income and resident tax for one fiscal year (年度), in yen.

    A municipality assesses the resident tax of the people who lived in it on 1 January of
    the fiscal year (賦課期日), on their income of the year before, and keeps the assessment
    when they move away: it is what a 所得証明 certifies.  Tenant-owned, like the records.
    """

    __tablename__ = "resident_incomes"

    tenant_code: Mapped[str] = mapped_column(
        String(6), ForeignKey("tenants.code"), primary_key=True
    )
    addressee_number: Mapped[str] = mapped_column(String(10), primary_key=True)
    fiscal_year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    salary_revenue: Mapped[int] = mapped_column(Integer)  # 給与収入
    salary_income: Mapped[int] = mapped_column(Integer)  # 給与所得
    pension_revenue: Mapped[int] = mapped_column(Integer)  # 公的年金等収入
    pension_income: Mapped[int] = mapped_column(Integer)  # 公的年金等に係る雑所得
    total_income: Mapped[int] = mapped_column(Integer)  # 総所得金額
    basic_deduction: Mapped[int] = mapped_column(Integer)  # 基礎控除
    social_insurance_deduction: Mapped[int] = mapped_column(Integer)  # 社会保険料控除
    spouse_deduction: Mapped[int] = mapped_column(Integer)  # 配偶者控除
    dependent_deduction: Mapped[int] = mapped_column(Integer)  # 扶養控除
    dependents: Mapped[int] = mapped_column(Integer)  # 扶養親族の数
    taxable_income: Mapped[int] = mapped_column(Integer)  # 課税標準額
    income_levy: Mapped[int] = mapped_column(Integer)  # 所得割額
    per_capita_levy: Mapped[int] = mapped_column(Integer)  # 均等割額

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_code", "addressee_number"],
            ["residents.tenant_code", "residents.addressee_number"],
        ),
        CheckConstraint("fiscal_year BETWEEN 1990 AND 2200", name="fiscal_year"),
    )


class MeshProviderKey(Base):
    """A key with which a mesh member's gateway reaches a provider system kiban hosts for a
    member that is not a tenant (a national agency's): only the SHA-256 of the token is kept,
    as for tenant API keys, and the registry operator issues and revokes it."""

    __tablename__ = "mesh_provider_keys"

    member_class: Mapped[str] = mapped_column(String(3), primary_key=True)
    member_code: Mapped[str] = mapped_column(String(13), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    secret_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(128))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        ForeignKeyConstraint(
            ["member_class", "member_code"],
            ["mesh_members.member_class", "mesh_members.member_code"],
            name="fk_mesh_provider_keys_member",
        ),
    )


# The population-statistics service counts a tenant's residents by birth date and sex among
# those resident on a day: this index holds every column the count reads, so PostgreSQL
# answers from the index alone, in birth-date order, without visiting the records.
POPULATION_INDEX = Index(
    "ix_residents_population",
    Resident.tenant_code,
    Resident.birth_date,
    Resident.sex,
    Resident.became_resident_on,
    Resident.removed_on,
)
