"""mesh: access rights to services, for subsystems and for global and local groups

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-24 15:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_SUBSYSTEM = ["member_class", "member_code", "subsystem_code"]
_GROUP = ["owner_class", "owner_code", "group_code"]
_SERVICE = [*_SUBSYSTEM, "service_code", "version"]


_LENGTHS = {
    "member_class": 3,
    "owner_class": 3,
    "member_code": 13,
    "owner_code": 13,
    "subsystem_code": 64,
    "group_code": 64,
    "service_code": 64,
}


def _codes(*names: str) -> list[sa.Column[str]]:
    return [sa.Column(name, sa.String(length=_LENGTHS[name]), nullable=False) for name in names]


def upgrade() -> None:
    op.create_table(
        "mesh_groups",
        *_codes(*_GROUP),
        sa.Column("description", sa.String(length=256), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(*_GROUP, name=op.f("pk_mesh_groups")),
    )
    op.create_table(
        "mesh_group_members",
        *_codes(*_GROUP, *_SUBSYSTEM),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            _GROUP,
            [f"mesh_groups.{column}" for column in _GROUP],
            name="fk_mesh_group_members_group",
        ),
        sa.ForeignKeyConstraint(
            _SUBSYSTEM,
            [f"mesh_subsystems.{column}" for column in _SUBSYSTEM],
            name="fk_mesh_group_members_subsystem",
        ),
        sa.PrimaryKeyConstraint(*_GROUP, *_SUBSYSTEM, name=op.f("pk_mesh_group_members")),
    )
    op.create_table(
        "mesh_access_rights",
        *_codes(*_SUBSYSTEM, "service_code"),
        sa.Column("version", sa.String(length=8), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("path", sa.String(length=512), nullable=False),
        sa.Column("granted_to", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=160), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("granted_by", sa.String(length=128), nullable=False),
        sa.CheckConstraint(
            "granted_to IN ('subsystem', 'global_group', 'local_group')",
            name=op.f("ck_mesh_access_rights_granted_to"),
        ),
        sa.ForeignKeyConstraint(
            _SERVICE,
            [f"mesh_services.{column}" for column in _SERVICE],
            name="fk_mesh_access_rights_service",
        ),
        sa.PrimaryKeyConstraint(
            *_SERVICE,
            "method",
            "path",
            "granted_to",
            "subject",
            name=op.f("pk_mesh_access_rights"),
        ),
    )


def downgrade() -> None:
    op.drop_table("mesh_access_rights")
    op.drop_table("mesh_group_members")
    op.drop_table("mesh_groups")
