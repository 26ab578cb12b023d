"""tenant row-level security: PostgreSQL refuses other tenants' rows to a bound unit of work

Every tenant-owned table gets one policy, ``tenant_isolation``: a row is visible and
writable when its ``tenant_code`` is the tenant the transaction is bound to
(``kiban.tenant_code``, set by ``kiban.core.tenancy.bind_tenant``), or when the transaction
is bound to no tenant at all.  Unbound work is what runs before or outside any one tenant:
migrations, the API-key lookup, CLI seeding, operator commands and national aggregates.
The policy is a second wall behind the application's checks, not a replacement for them: it
guarantees that once a request is bound, a query that forgets its tenant filter still sees
and writes only that tenant's rows.

``FORCE`` subjects the tables' owner too, which the application usually connects as.
Superusers and ``BYPASSRLS`` roles always bypass row-level security, so the application must
connect as an ordinary role for the policy to apply.

SQLite has no row-level security; there the application's checks are the only wall.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 20:30:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_TENANT_TABLES = ("tenant_api_keys", "households", "residents", "resident_movements")

# current_setting(..., true) is NULL when the setting was never made in the session and ''
# after a transaction-local binding has ended; both mean "bound to no tenant".
_TENANT_ROWS_ONLY = (
    "coalesce(current_setting('kiban.tenant_code', true), '') = ''"
    " OR tenant_code = current_setting('kiban.tenant_code', true)"
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in _TENANT_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table}"
            f" USING ({_TENANT_ROWS_ONLY}) WITH CHECK ({_TENANT_ROWS_ONLY})"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in _TENANT_TABLES:
        op.execute(f"DROP POLICY tenant_isolation ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
