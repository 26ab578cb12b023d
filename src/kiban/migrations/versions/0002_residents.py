"""residents: tenants, tenant API keys, households, residents and their movements

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 19:10:03.256084
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kiban.migrations.append_only import allow_changes, forbid_changes

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_CURRENT_HEAD = sa.text("relationship = '世帯主' AND status = 'resident'")
_IMMUTABLE = "resident movements are immutable"


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("code", sa.String(length=6), nullable=False),
        sa.Column("enabled_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["code"], ["local_governments.code"], name=op.f("fk_tenants_code_local_governments")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_tenants")),
    )
    op.create_table(
        "tenant_api_keys",
        sa.Column("tenant_code", sa.String(length=6), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("secret_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_code"], ["tenants.code"], name=op.f("fk_tenant_api_keys_tenant_code_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_code", "key_id", name=op.f("pk_tenant_api_keys")),
    )
    op.create_table(
        "households",
        sa.Column("tenant_code", sa.String(length=6), nullable=False),
        sa.Column("household_number", sa.String(length=10), nullable=False),
        sa.Column("formed_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_code"], ["tenants.code"], name=op.f("fk_households_tenant_code_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_code", "household_number", name=op.f("pk_households")),
    )
    op.create_table(
        "residents",
        sa.Column("tenant_code", sa.String(length=6), nullable=False),
        sa.Column("addressee_number", sa.String(length=10), nullable=False),
        sa.Column("resident_record_code", sa.String(length=11), nullable=False),
        sa.Column("personal_number_hash", sa.String(length=64), nullable=False),
        sa.Column("family_name", sa.String(length=32), nullable=False),
        sa.Column("given_name", sa.String(length=32), nullable=False),
        sa.Column("family_name_kana", sa.String(length=64), nullable=False),
        sa.Column("given_name_kana", sa.String(length=64), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("sex", sa.String(length=1), nullable=False),
        sa.Column("household_number", sa.String(length=10), nullable=False),
        sa.Column("relationship", sa.String(length=16), nullable=False),
        sa.Column("lg_code", sa.String(length=6), nullable=False),
        sa.Column("town_name", sa.String(length=128), nullable=False),
        sa.Column("banchi", sa.String(length=32), nullable=False),
        sa.Column("katagaki", sa.String(length=128), nullable=True),
        sa.Column("became_resident_on", sa.Date(), nullable=False),
        sa.Column("address_set_on", sa.Date(), nullable=False),
        sa.Column("notified_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("removed_on", sa.Date(), nullable=True),
        sa.CheckConstraint("sex IN ('1', '2')", name=op.f("ck_residents_sex")),
        sa.CheckConstraint(
            "status IN ('resident', 'moved_out', 'deceased')", name=op.f("ck_residents_status")
        ),
        sa.ForeignKeyConstraint(
            ["lg_code"],
            ["local_governments.code"],
            name=op.f("fk_residents_lg_code_local_governments"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_code", "household_number"],
            ["households.tenant_code", "households.household_number"],
            name=op.f("fk_residents_tenant_code_households"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_code"], ["tenants.code"], name=op.f("fk_residents_tenant_code_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_code", "addressee_number", name=op.f("pk_residents")),
    )
    op.create_index("ix_residents_birth_date", "residents", ["tenant_code", "birth_date"])
    op.create_index("ix_residents_household", "residents", ["tenant_code", "household_number"])
    op.create_index(
        "ix_residents_kana", "residents", ["tenant_code", "family_name_kana", "given_name_kana"]
    )
    op.create_index(
        "uq_residents_one_head_per_household",
        "residents",
        ["tenant_code", "household_number"],
        unique=True,
        sqlite_where=_CURRENT_HEAD,
        postgresql_where=_CURRENT_HEAD,
    )
    op.create_index(
        "uq_residents_personal_number_hash",
        "residents",
        ["tenant_code", "personal_number_hash"],
        unique=True,
    )
    op.create_index(
        "uq_residents_resident_record_code",
        "residents",
        ["tenant_code", "resident_record_code"],
        unique=True,
    )
    op.create_table(
        "resident_movements",
        sa.Column("tenant_code", sa.String(length=6), nullable=False),
        sa.Column("addressee_number", sa.String(length=10), nullable=False),
        sa.Column("sequence", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("notified_on", sa.Date(), nullable=False),
        sa.Column("household_number", sa.String(length=10), nullable=True),
        sa.Column("relationship", sa.String(length=16), nullable=True),
        sa.Column("lg_code", sa.String(length=6), nullable=True),
        sa.Column("town_name", sa.String(length=128), nullable=True),
        sa.Column("banchi", sa.String(length=32), nullable=True),
        sa.Column("katagaki", sa.String(length=128), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('birth', 'moving_in', 'relocation', 'moving_out', 'death')",
            name=op.f("ck_resident_movements_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["lg_code"],
            ["local_governments.code"],
            name=op.f("fk_resident_movements_lg_code_local_governments"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_code", "addressee_number"],
            ["residents.tenant_code", "residents.addressee_number"],
            name=op.f("fk_resident_movements_tenant_code_residents"),
        ),
        sa.PrimaryKeyConstraint(
            "tenant_code", "addressee_number", "sequence", name=op.f("pk_resident_movements")
        ),
    )
    # History is append-only in the database too, whatever code runs against it.
    forbid_changes("resident_movements", _IMMUTABLE)


def downgrade() -> None:
    allow_changes("resident_movements")
    op.drop_table("resident_movements")
    for index in (
        "uq_residents_resident_record_code",
        "uq_residents_personal_number_hash",
        "uq_residents_one_head_per_household",
        "ix_residents_kana",
        "ix_residents_household",
        "ix_residents_birth_date",
    ):
        op.drop_index(index, table_name="residents")
    op.drop_table("residents")
    op.drop_table("households")
    op.drop_table("tenant_api_keys")
    op.drop_table("tenants")
