"""gateway: the message log, its checkpoints, head and archive anchors

Revision ID: 0001
Revises:
Create Date: 2026-11-24 14:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kiban.migrations.append_only import allow_changes, forbid_changes

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_DIGEST = sa.LargeBinary(length=32)
_REFUSAL = "the message log is append-only: only archived records may be removed"


def _forbid_all_but_pruning(table: str) -> None:
    """Refuse updates, and deletes of any row not yet archived (above the newest anchor)."""
    archived = "(SELECT coalesce(max(seq), 0) FROM gateway_log_anchors)"
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$"
            f" BEGIN IF TG_OP = 'DELETE' AND OLD.seq <= {archived} THEN RETURN OLD; END IF;"
            f" RAISE EXCEPTION '{_REFUSAL}'; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE"
            f" ON {table} FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"
        )
        return
    op.execute(
        f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table}"
        f" BEGIN SELECT RAISE(ABORT, '{_REFUSAL}'); END"
    )
    op.execute(
        f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} WHEN OLD.seq > {archived}"
        f" BEGIN SELECT RAISE(ABORT, '{_REFUSAL}'); END"
    )


def _allow_all(table: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {table}_append_only()")
        return
    for action in ("update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")


def upgrade() -> None:
    op.create_table(
        "gateway_log_records",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("prev_hash", _DIGEST, nullable=False),
        sa.Column("hash", _DIGEST, nullable=False),
        sa.Column("message_id", sa.Text(), nullable=False),
        sa.Column("role", sa.String(length=8), nullable=False),
        sa.Column("client", sa.Text(), nullable=False),
        sa.Column("service", sa.Text(), nullable=False),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Text(), nullable=True),
        sa.Column("purpose", sa.Text(), nullable=True),
        sa.Column("legal_basis", sa.Text(), nullable=True),
        sa.Column("consent", sa.Text(), nullable=True),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("request_signature", sa.Text(), nullable=True),
        sa.Column("response_signature", sa.Text(), nullable=True),
        sa.Column("request_hash", sa.Text(), nullable=True),
        sa.Column("request_body", sa.LargeBinary(), nullable=True),
        sa.Column("response_body", sa.LargeBinary(), nullable=True),
        sa.Column("started_us", sa.BigInteger(), nullable=False),
        sa.Column("finished_us", sa.BigInteger(), nullable=False),
        sa.Column("data_subject", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "role IN ('consumer', 'provider')", name=op.f("ck_gateway_log_records_role")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_gateway_log_records")),
        sa.UniqueConstraint(
            "message_id", "client", "role", name=op.f("uq_gateway_log_records_message")
        ),
    )
    op.create_table(
        "gateway_log_checkpoints",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_gateway_log_checkpoints")),
    )
    head = op.create_table(
        "gateway_log_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", _DIGEST, nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_gateway_log_head_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gateway_log_head")),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": bytes(32)}])
    op.create_table(
        "gateway_log_anchors",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", _DIGEST, nullable=False),
        sa.Column("checkpoint", sa.Text(), nullable=False),
        sa.Column("archive", sa.Text(), nullable=False),
        sa.Column("pruned_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_gateway_log_anchors")),
    )
    _forbid_all_but_pruning("gateway_log_records")
    _forbid_all_but_pruning("gateway_log_checkpoints")
    forbid_changes("gateway_log_anchors", "archive anchors are never changed")


def downgrade() -> None:
    allow_changes("gateway_log_anchors")
    _allow_all("gateway_log_checkpoints")
    _allow_all("gateway_log_records")
    op.drop_table("gateway_log_anchors")
    op.drop_table("gateway_log_head")
    op.drop_table("gateway_log_checkpoints")
    op.drop_table("gateway_log_records")
