"""audit events, sign-in throttles and browser sessions

``audit_events`` is append-only in the database as well as in the ORM.  None of the three
tables is tenant-owned: sign-in happens before a tenant is known, and the audit trail and
throttles span tenants (each audit row still names its tenant where it has one).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 21:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kiban.migrations.append_only import allow_changes, forbid_changes

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_IMMUTABLE = "audit events are immutable"


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=True),
        sa.Column("tenant_code", sa.String(length=6), nullable=True),
        sa.Column("subject", sa.String(length=128), nullable=True),
        sa.Column("request_id", sa.String(length=128), nullable=True),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index("ix_audit_events_occurred_at", "audit_events", ["occurred_at"])
    op.create_index("ix_audit_events_subject", "audit_events", ["subject", "occurred_at"])
    op.create_index("ix_audit_events_tenant", "audit_events", ["tenant_code", "occurred_at"])
    forbid_changes("audit_events", _IMMUTABLE)

    op.create_table(
        "throttle_buckets",
        sa.Column("bucket", sa.String(length=200), nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("bucket", name=op.f("pk_throttle_buckets")),
    )

    op.create_table(
        "auth_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("subject_kind", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("tenant_code", sa.String(length=6), nullable=True),
        sa.Column("roles", sa.String(length=128), nullable=False),
        sa.Column("acr", sa.String(length=16), nullable=False),
        sa.Column("amr", sa.String(length=64), nullable=False),
        sa.Column("auth_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("idle_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_sessions")),
    )
    op.create_index("ix_auth_sessions_subject", "auth_sessions", ["subject_kind", "subject_id"])


def downgrade() -> None:
    op.drop_index("ix_auth_sessions_subject", table_name="auth_sessions")
    op.drop_table("auth_sessions")
    op.drop_table("throttle_buckets")
    allow_changes("audit_events")
    for index in (
        "ix_audit_events_tenant",
        "ix_audit_events_subject",
        "ix_audit_events_occurred_at",
    ):
        op.drop_index(index, table_name="audit_events")
    op.drop_table("audit_events")
