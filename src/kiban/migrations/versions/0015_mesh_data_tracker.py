"""mesh: the data tracker's records of who used a person's data

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-26 09:00:00.000000

A new table only: nothing recorded before it exists, as no gateway could send records.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_PROVIDER = ["provider_class", "provider_code"]
_HIDDEN = ("hidden_until", "hidden_reason", "hidden_by", "hidden_at")


def upgrade() -> None:
    op.create_table(
        "mesh_data_uses",
        sa.Column("provider_class", sa.String(length=3), nullable=False),
        sa.Column("provider_code", sa.String(length=13), nullable=False),
        sa.Column("message_id", sa.String(length=36), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("service_subsystem", sa.String(length=64), nullable=False),
        sa.Column("service_code", sa.String(length=64), nullable=False),
        sa.Column("service_version", sa.String(length=8), nullable=False),
        sa.Column("client_class", sa.String(length=3), nullable=False),
        sa.Column("client_code", sa.String(length=13), nullable=False),
        sa.Column("client_subsystem", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=256), nullable=True),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("legal_basis", sa.String(length=256), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hidden_until", sa.Date(), nullable=True),
        sa.Column("hidden_reason", sa.String(length=500), nullable=True),
        sa.Column("hidden_by", sa.String(length=128), nullable=True),
        sa.Column("hidden_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "("
            + " AND ".join(f"{column} IS NULL" for column in _HIDDEN)
            + ") OR ("
            + " AND ".join(f"{column} IS NOT NULL" for column in _HIDDEN)
            + ")",
            name=op.f("ck_mesh_data_uses_hidden"),
        ),
        sa.ForeignKeyConstraint(
            _PROVIDER,
            ["mesh_members.member_class", "mesh_members.member_code"],
            name="fk_mesh_data_uses_provider",
        ),
        sa.PrimaryKeyConstraint(*_PROVIDER, "message_id", name=op.f("pk_mesh_data_uses")),
    )
    op.create_index(
        "ix_mesh_data_uses_subject", "mesh_data_uses", [*_PROVIDER, "subject", "used_at"]
    )
    op.create_index("ix_mesh_data_uses_used_at", "mesh_data_uses", [*_PROVIDER, "used_at"])


def downgrade() -> None:
    op.drop_index("ix_mesh_data_uses_used_at", table_name="mesh_data_uses")
    op.drop_index("ix_mesh_data_uses_subject", table_name="mesh_data_uses")
    op.drop_table("mesh_data_uses")
