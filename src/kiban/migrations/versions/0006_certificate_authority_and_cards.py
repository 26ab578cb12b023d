"""certificate authority, issued certificates and card sign-in requests

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 21:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_KINDS = "kind IN ('auth', 'sign', 'organisation')"
_STATUSES = "status IN ('valid', 'revoked')"
_REASONS = (
    "revocation_reason IS NULL OR revocation_reason IN ('unspecified', 'key_compromise',"
    " 'affiliation_changed', 'superseded', 'cessation_of_operation')"
)
_HOLDER = (
    "(kind = 'organisation' AND member_code IS NOT NULL AND tenant_code IS NULL)"
    " OR (kind <> 'organisation' AND member_code IS NULL"
    " AND tenant_code IS NOT NULL AND addressee_number IS NOT NULL)"
)
_REVOCATION = "(status = 'revoked') = (revoked_at IS NOT NULL AND revocation_reason IS NOT NULL)"


def upgrade() -> None:
    op.create_table(
        "ca_keys",
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("certificate_pem", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("encrypted_key_pem", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('root', 'issuing')", name=op.f("ck_ca_keys_role")),
        sa.PrimaryKeyConstraint("role", name=op.f("pk_ca_keys")),
    )
    op.create_table(
        "issued_certificates",
        sa.Column("serial_number", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("tenant_code", sa.String(length=6), nullable=True),
        sa.Column("addressee_number", sa.String(length=10), nullable=True),
        sa.Column("member_code", sa.String(length=64), nullable=True),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("not_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revocation_reason", sa.String(length=32), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("certificate_der", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint(_KINDS, name=op.f("ck_issued_certificates_kind")),
        sa.CheckConstraint(_STATUSES, name=op.f("ck_issued_certificates_status")),
        sa.CheckConstraint(_REASONS, name=op.f("ck_issued_certificates_revocation_reason")),
        sa.CheckConstraint(_HOLDER, name=op.f("ck_issued_certificates_holder")),
        sa.CheckConstraint(_REVOCATION, name=op.f("ck_issued_certificates_revocation")),
        sa.ForeignKeyConstraint(
            ["tenant_code", "addressee_number"],
            ["residents.tenant_code", "residents.addressee_number"],
            name=op.f("fk_issued_certificates_tenant_code_residents"),
        ),
        sa.PrimaryKeyConstraint("serial_number", name=op.f("pk_issued_certificates")),
    )
    op.create_index(
        "ix_issued_certificates_resident",
        "issued_certificates",
        ["tenant_code", "addressee_number"],
    )
    op.create_index("ix_issued_certificates_member", "issued_certificates", ["member_code"])
    op.create_index(
        "ix_issued_certificates_revoked", "issued_certificates", ["status", "not_after"]
    )
    op.create_table(
        "card_signin_requests",
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("challenge", sa.String(length=43), nullable=False),
        sa.Column("browser_secret_sha256", sa.String(length=64), nullable=False),
        sa.Column("next_path", sa.String(length=2048), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_code", sa.String(length=6), nullable=True),
        sa.Column("addressee_number", sa.String(length=10), nullable=True),
        sa.Column("certificate_serial", sa.String(length=40), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'completed')",
            name=op.f("ck_card_signin_requests_status"),
        ),
        sa.CheckConstraint(
            "(status = 'pending') = (certificate_serial IS NULL)",
            name=op.f("ck_card_signin_requests_approval"),
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_card_signin_requests")),
    )
    op.create_index("ix_card_signin_requests_expires_at", "card_signin_requests", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_card_signin_requests_expires_at", table_name="card_signin_requests")
    op.drop_table("card_signin_requests")
    for index in (
        "ix_issued_certificates_revoked",
        "ix_issued_certificates_member",
        "ix_issued_certificates_resident",
    ):
        op.drop_index(index, table_name="issued_certificates")
    op.drop_table("issued_certificates")
    op.drop_table("ca_keys")
