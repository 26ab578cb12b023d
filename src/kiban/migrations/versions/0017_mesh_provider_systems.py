"""mesh: the provider systems' tax ledger, national provider keys, the population index

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-27 09:00:00.000000

``resident_incomes`` is tenant-owned: it gets the ``tenant_isolation`` row-level security
policy of migration 0004 on PostgreSQL.  ``ix_residents_population`` holds every column the
population-statistics count reads, so that it never visits the records themselves.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_TENANT_ROWS_ONLY = (
    "coalesce(current_setting('kiban.tenant_code', true), '') = ''"
    " OR tenant_code = current_setting('kiban.tenant_code', true)"
)
_AMOUNTS = (  # yen, and the number of dependants
    "salary_revenue",
    "salary_income",
    "pension_revenue",
    "pension_income",
    "total_income",
    "basic_deduction",
    "social_insurance_deduction",
    "spouse_deduction",
    "dependent_deduction",
    "dependents",
    "taxable_income",
    "income_levy",
    "per_capita_levy",
)
_MEMBER = ["member_class", "member_code"]


def upgrade() -> None:
    op.create_table(
        "resident_incomes",
        sa.Column("tenant_code", sa.String(length=6), nullable=False),
        sa.Column("addressee_number", sa.String(length=10), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), autoincrement=False, nullable=False),
        *(sa.Column(column, sa.Integer(), nullable=False) for column in _AMOUNTS),
        sa.CheckConstraint(
            "fiscal_year BETWEEN 1990 AND 2200", name=op.f("ck_resident_incomes_fiscal_year")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_code"], ["tenants.code"], name=op.f("fk_resident_incomes_tenant_code_tenants")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_code", "addressee_number"],
            ["residents.tenant_code", "residents.addressee_number"],
            name=op.f("fk_resident_incomes_tenant_code_residents"),
        ),
        sa.PrimaryKeyConstraint(
            "tenant_code", "addressee_number", "fiscal_year", name=op.f("pk_resident_incomes")
        ),
    )
    op.create_table(
        "mesh_provider_keys",
        sa.Column("member_class", sa.String(length=3), nullable=False),
        sa.Column("member_code", sa.String(length=13), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("secret_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            _MEMBER,
            [f"mesh_members.{column}" for column in _MEMBER],
            name="fk_mesh_provider_keys_member",
        ),
        sa.PrimaryKeyConstraint(*_MEMBER, "key_id", name=op.f("pk_mesh_provider_keys")),
    )
    op.create_index(
        "ix_residents_population",
        "residents",
        ["tenant_code", "birth_date", "sex", "became_resident_on", "removed_on"],
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE resident_incomes ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE resident_incomes FORCE ROW LEVEL SECURITY")
        op.execute(
            "CREATE POLICY tenant_isolation ON resident_incomes"
            f" USING ({_TENANT_ROWS_ONLY}) WITH CHECK ({_TENANT_ROWS_ONLY})"
        )


def downgrade() -> None:
    op.drop_index("ix_residents_population", table_name="residents")
    op.drop_table("mesh_provider_keys")
    op.drop_table("resident_incomes")
