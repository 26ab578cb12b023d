"""corporations: the corporation base registry (法人番号)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 20:05:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_KINDS = ("101", "201", "301", "302", "303", "304", "305", "399", "401", "499")


def upgrade() -> None:
    op.create_table(
        "corporations",
        sa.Column("number", sa.String(length=13), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("kana", sa.String(length=256), nullable=False),
        sa.Column("kind", sa.String(length=3), nullable=False),
        sa.Column("lg_code", sa.String(length=6), nullable=False),
        sa.Column("town_name", sa.String(length=128), nullable=False),
        sa.Column("banchi", sa.String(length=64), nullable=False),
        sa.Column("established_on", sa.Date(), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("synthetic", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.CheckConstraint(
            f"kind IN ({', '.join(repr(kind) for kind in _KINDS)})",
            name=op.f("ck_corporations_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["lg_code"],
            ["local_governments.code"],
            name=op.f("fk_corporations_lg_code_local_governments"),
        ),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_corporations")),
    )
    op.create_index("ix_corporations_kana", "corporations", ["kana"])
    op.create_index("ix_corporations_lg_code", "corporations", ["lg_code"])
    op.create_index("ix_corporations_name", "corporations", ["name"])


def downgrade() -> None:
    op.drop_index("ix_corporations_name", table_name="corporations")
    op.drop_index("ix_corporations_lg_code", table_name="corporations")
    op.drop_index("ix_corporations_kana", table_name="corporations")
    op.drop_table("corporations")
