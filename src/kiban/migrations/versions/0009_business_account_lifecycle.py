"""business accounts: why one is disabled, and only active primes count as the company's one

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_ONE_PRIME = sa.text("account_type = 'prime'")
_ONE_ACTIVE_PRIME = sa.text("account_type = 'prime' AND disabled_at IS NULL")
_DISABLED_REASON = (
    "disabled_at IS NULL AND disabled_reason IS NULL OR disabled_at IS NOT NULL"
    " AND disabled_reason IN ('operator', 'removed_by_prime', 'representative_removed')"
)


def _one_prime_index(where: sa.TextClause) -> None:
    op.create_index(
        "uq_business_accounts_one_prime",
        "business_accounts",
        ["corporate_number"],
        unique=True,
        sqlite_where=where,
        postgresql_where=where,
    )


def upgrade() -> None:
    op.add_column(
        "business_accounts", sa.Column("disabled_reason", sa.String(length=24), nullable=True)
    )
    # Until now only an operator could have disabled an account.
    op.execute(
        "UPDATE business_accounts SET disabled_reason = 'operator' WHERE disabled_at IS NOT NULL"
    )
    op.create_index("ix_business_accounts_resident_ref", "business_accounts", ["resident_ref"])
    # Dropped before the batch: on SQLite it copies the table, and copying a partial index
    # would rest on reflecting its WHERE clause.
    op.drop_index("uq_business_accounts_one_prime", table_name="business_accounts")
    with op.batch_alter_table("business_accounts") as batch_op:
        batch_op.create_check_constraint(
            op.f("ck_business_accounts_disabled_reason"), sa.text(_DISABLED_REASON)
        )
    _one_prime_index(_ONE_ACTIVE_PRIME)


def downgrade() -> None:
    op.drop_index("uq_business_accounts_one_prime", table_name="business_accounts")
    with op.batch_alter_table("business_accounts") as batch_op:
        batch_op.drop_index("ix_business_accounts_resident_ref")
        batch_op.drop_constraint(op.f("ck_business_accounts_disabled_reason"), type_="check")
        batch_op.drop_column("disabled_reason")
    # Fails, as it should, where a company has an active and a disabled prime.
    _one_prime_index(_ONE_PRIME)
