"""mesh: the central registry's members and subsystems

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24 13:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_STATUS = "status IN ('pending', 'approved', 'rejected')"


def _registration() -> list[sa.Column[object]]:
    return [
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_by", sa.String(length=128), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=128), nullable=True),
        sa.Column("decision_reason", sa.String(length=500), nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "mesh_members",
        sa.Column("member_class", sa.String(length=3), nullable=False),
        sa.Column("member_code", sa.String(length=13), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        *_registration(),
        sa.CheckConstraint(
            "member_class IN ('GOV', 'LG', 'PUB', 'COM')",
            name=op.f("ck_mesh_members_member_class"),
        ),
        sa.CheckConstraint(_STATUS, name=op.f("ck_mesh_members_status")),
        sa.PrimaryKeyConstraint("member_class", "member_code", name=op.f("pk_mesh_members")),
    )
    op.create_index("ix_mesh_members_status", "mesh_members", ["status"])
    op.create_table(
        "mesh_subsystems",
        sa.Column("member_class", sa.String(length=3), nullable=False),
        sa.Column("member_code", sa.String(length=13), nullable=False),
        sa.Column("subsystem_code", sa.String(length=64), nullable=False),
        *_registration(),
        sa.CheckConstraint(_STATUS, name=op.f("ck_mesh_subsystems_status")),
        sa.ForeignKeyConstraint(
            ["member_class", "member_code"],
            ["mesh_members.member_class", "mesh_members.member_code"],
            name="fk_mesh_subsystems_member",
        ),
        sa.PrimaryKeyConstraint(
            "member_class", "member_code", "subsystem_code", name=op.f("pk_mesh_subsystems")
        ),
    )
    op.create_index("ix_mesh_subsystems_status", "mesh_subsystems", ["status"])


def downgrade() -> None:
    op.drop_index("ix_mesh_subsystems_status", table_name="mesh_subsystems")
    op.drop_table("mesh_subsystems")
    op.drop_index("ix_mesh_members_status", table_name="mesh_members")
    op.drop_table("mesh_members")
