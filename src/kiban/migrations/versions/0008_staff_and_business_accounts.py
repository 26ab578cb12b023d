"""staff accounts and business IDs

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 21:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_ONE_PRIME = sa.text("account_type = 'prime'")
# As in 0004: bound to a tenant, a transaction sees only that tenant's staff.
_TENANT_ROWS_ONLY = (
    "coalesce(current_setting('kiban.tenant_code', true), '') = ''"
    " OR tenant_code = current_setting('kiban.tenant_code', true)"
)


def _credential_columns() -> list[sa.Column[object]]:
    """kiban.identity.credentials.CredentialColumns."""
    return [
        sa.Column("password_hash", sa.String(length=128), nullable=False),
        sa.Column("password_must_change", sa.Boolean(), nullable=False),
        sa.Column("totp_secret_sealed", sa.String(length=128), nullable=True),
        sa.Column("totp_enrolled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("totp_last_step", sa.Integer(), nullable=True),
        sa.Column("setup_token_sha256", sa.String(length=64), nullable=True),
        sa.Column("setup_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "staff_accounts",
        sa.Column("tenant_code", sa.String(length=6), nullable=False),
        sa.Column("staff_id", sa.String(length=16), nullable=False),
        sa.Column("login_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("roles", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        *_credential_columns(),
        sa.CheckConstraint("roles <> ''", name=op.f("ck_staff_accounts_roles")),
        sa.ForeignKeyConstraint(
            ["tenant_code"], ["tenants.code"], name=op.f("fk_staff_accounts_tenant_code_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_code", "staff_id", name=op.f("pk_staff_accounts")),
    )
    op.create_index(
        "uq_staff_accounts_login_id", "staff_accounts", ["tenant_code", "login_id"], unique=True
    )
    op.create_table(
        "business_accounts",
        sa.Column("account_id", sa.String(length=16), nullable=False),
        sa.Column("login_id", sa.String(length=64), nullable=False),
        sa.Column("account_type", sa.String(length=8), nullable=False),
        sa.Column("corp_type", sa.String(length=16), nullable=False),
        sa.Column("corporate_number", sa.String(length=13), nullable=True),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("resident_ref", sa.String(length=24), nullable=True),
        sa.Column("created_by", sa.String(length=16), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        *_credential_columns(),
        sa.CheckConstraint(
            "account_type IN ('prime', 'member', 'entry')",
            name=op.f("ck_business_accounts_account_type"),
        ),
        sa.CheckConstraint(
            "corp_type IN ('corporation', 'sole_proprietor')",
            name=op.f("ck_business_accounts_corp_type"),
        ),
        sa.CheckConstraint(
            "account_type = 'entry' OR corporate_number IS NOT NULL",
            name=op.f("ck_business_accounts_company"),
        ),
        sa.ForeignKeyConstraint(
            ["corporate_number"],
            ["corporations.number"],
            name=op.f("fk_business_accounts_corporate_number_corporations"),
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_business_accounts")),
    )
    op.create_index(
        "ix_business_accounts_corporate_number", "business_accounts", ["corporate_number"]
    )
    op.create_index("uq_business_accounts_login_id", "business_accounts", ["login_id"], unique=True)
    op.create_index(
        "uq_business_accounts_one_prime",
        "business_accounts",
        ["corporate_number"],
        unique=True,
        sqlite_where=_ONE_PRIME,
        postgresql_where=_ONE_PRIME,
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE staff_accounts ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE staff_accounts FORCE ROW LEVEL SECURITY")
        op.execute(
            "CREATE POLICY tenant_isolation ON staff_accounts"
            f" USING ({_TENANT_ROWS_ONLY}) WITH CHECK ({_TENANT_ROWS_ONLY})"
        )


def downgrade() -> None:
    for index in (
        "uq_business_accounts_one_prime",
        "uq_business_accounts_login_id",
        "ix_business_accounts_corporate_number",
    ):
        op.drop_index(index, table_name="business_accounts")
    op.drop_table("business_accounts")
    op.drop_index("uq_staff_accounts_login_id", table_name="staff_accounts")
    # The policy goes with its table.
    op.drop_table("staff_accounts")
