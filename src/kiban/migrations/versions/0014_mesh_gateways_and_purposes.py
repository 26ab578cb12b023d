"""mesh: members' gateway addresses, and the purposes an access right allows

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-25 09:00:00.000000

A right granted before purposes existed has none: to a service with personal data it allows
no call until it is granted again with its purposes (the gateways fail closed).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_MEMBER = ["member_class", "member_code"]


def upgrade() -> None:
    op.create_table(
        "mesh_gateways",
        sa.Column("member_class", sa.String(length=3), nullable=False),
        sa.Column("member_code", sa.String(length=13), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("registered_by", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            _MEMBER,
            [f"mesh_members.{column}" for column in _MEMBER],
            name="fk_mesh_gateways_member",
        ),
        sa.PrimaryKeyConstraint(*_MEMBER, "address", name=op.f("pk_mesh_gateways")),
    )
    with op.batch_alter_table("mesh_access_rights") as batch_op:
        batch_op.add_column(sa.Column("purposes", sa.Text(), server_default="", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("mesh_access_rights") as batch_op:
        batch_op.drop_column("purposes")
    op.drop_table("mesh_gateways")
