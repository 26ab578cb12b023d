"""gateway: how far the data-tracker records have been handed to the platform

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 16:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gateway_tracker_cursor",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("forwarded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_gateway_tracker_cursor_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gateway_tracker_cursor")),
    )


def downgrade() -> None:
    op.drop_table("gateway_tracker_cursor")
