"""mesh: services published by subsystems, with their OpenAPI documents

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-24 14:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mesh_services",
        sa.Column("member_class", sa.String(length=3), nullable=False),
        sa.Column("member_code", sa.String(length=13), nullable=False),
        sa.Column("subsystem_code", sa.String(length=64), nullable=False),
        sa.Column("service_code", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=8), nullable=False),
        sa.Column("title", sa.String(length=256), nullable=False),
        sa.Column("personal_data", sa.Boolean(), nullable=False),
        sa.Column("openapi", sa.Text(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_class", "member_code", "subsystem_code"],
            [
                "mesh_subsystems.member_class",
                "mesh_subsystems.member_code",
                "mesh_subsystems.subsystem_code",
            ],
            name="fk_mesh_services_subsystem",
        ),
        sa.PrimaryKeyConstraint(
            "member_class",
            "member_code",
            "subsystem_code",
            "service_code",
            "version",
            name=op.f("pk_mesh_services"),
        ),
    )


def downgrade() -> None:
    op.drop_table("mesh_services")
