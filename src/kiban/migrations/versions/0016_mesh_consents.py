"""mesh: consent artefacts that residents grant and providers' gateways spend

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-27 09:00:00.000000

A new table only: no consent existed before it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_CONSUMER = ["consumer_class", "consumer_code", "consumer_subsystem"]


def upgrade() -> None:
    op.create_table(
        "mesh_consents",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_code", sa.String(length=6), nullable=False),
        sa.Column("addressee_number", sa.String(length=10), nullable=False),
        sa.Column("consumer_class", sa.String(length=3), nullable=False),
        sa.Column("consumer_code", sa.String(length=13), nullable=False),
        sa.Column("consumer_subsystem", sa.String(length=64), nullable=False),
        sa.Column("service_subsystem", sa.String(length=64), nullable=False),
        sa.Column("service_code", sa.String(length=64), nullable=False),
        sa.Column("service_version", sa.String(length=8), nullable=False),
        sa.Column("items", sa.Text(), nullable=False),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("explanation", sa.String(length=500), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=128), nullable=True),
        sa.Column("revocation_reason", sa.String(length=500), nullable=True),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_message_id", sa.String(length=36), nullable=True),
        sa.Column("use_count", sa.Integer(), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('one-time', 'periodic')", name=op.f("ck_mesh_consents_kind")),
        sa.CheckConstraint(
            "(revoked_at IS NULL AND revoked_by IS NULL AND revocation_reason IS NULL)"
            " OR (revoked_at IS NOT NULL AND revoked_by IS NOT NULL)",
            name=op.f("ck_mesh_consents_revoked"),
        ),
        sa.CheckConstraint(
            "(used_at IS NULL AND used_message_id IS NULL) OR (kind = 'one-time'"
            " AND used_at IS NOT NULL AND used_message_id IS NOT NULL AND use_count = 1)",
            name=op.f("ck_mesh_consents_used"),
        ),
        sa.CheckConstraint("use_count >= 0", name=op.f("ck_mesh_consents_use_count")),
        sa.ForeignKeyConstraint(
            _CONSUMER,
            [
                "mesh_subsystems.member_class",
                "mesh_subsystems.member_code",
                "mesh_subsystems.subsystem_code",
            ],
            name="fk_mesh_consents_consumer",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mesh_consents")),
    )
    op.create_index(
        "ix_mesh_consents_subject",
        "mesh_consents",
        ["tenant_code", "addressee_number", "granted_at"],
    )
    op.create_index("ix_mesh_consents_granted_at", "mesh_consents", ["tenant_code", "granted_at"])


def downgrade() -> None:
    op.drop_index("ix_mesh_consents_granted_at", table_name="mesh_consents")
    op.drop_index("ix_mesh_consents_subject", table_name="mesh_consents")
    op.drop_table("mesh_consents")
