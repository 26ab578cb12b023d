"""gateway: mesh events — outbox, subscriptions, deliveries, dead letters, inbox, leases

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 18:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_SUBJECT = sa.String(length=128)
_TYPE = sa.String(length=64)


def _seq() -> sa.Column[int]:
    return sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False)


def upgrade() -> None:
    op.create_table(
        "gateway_event_publishers",
        sa.Column("publisher", sa.Text(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("relayed_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("publisher", name=op.f("pk_gateway_event_publishers")),
    )
    op.create_table(
        "gateway_event_outbox",
        sa.Column("publisher", sa.Text(), nullable=False),
        _seq(),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("type", _TYPE, nullable=False),
        sa.Column("subject", _SUBJECT, nullable=False),
        sa.Column("occurred_us", sa.BigInteger(), nullable=False),
        sa.Column("published_us", sa.BigInteger(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("publisher", "seq", name=op.f("pk_gateway_event_outbox")),
        sa.UniqueConstraint("publisher", "id", name=op.f("uq_gateway_event_outbox_event_id")),
    )
    op.create_table(
        "gateway_event_subscriptions",
        sa.Column("subscriber", sa.Text(), nullable=False),
        sa.Column("publisher", sa.Text(), nullable=False),
        sa.Column("type", _TYPE, nullable=False),
        sa.Column("from_seq", sa.BigInteger(), nullable=False),
        sa.Column("subscribed_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "subscriber", "publisher", "type", name=op.f("pk_gateway_event_subscriptions")
        ),
    )
    op.create_table(
        "gateway_event_feeds",
        sa.Column("subscriber", sa.Text(), nullable=False),
        sa.Column("publisher", sa.Text(), nullable=False),
        sa.Column("queued_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("subscriber", "publisher", name=op.f("pk_gateway_event_feeds")),
    )
    op.create_table(
        "gateway_event_deliveries",
        sa.Column("subscriber", sa.Text(), nullable=False),
        sa.Column("publisher", sa.Text(), nullable=False),
        _seq(),
        sa.Column("subject", _SUBJECT, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("due_us", sa.BigInteger(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint(
            "subscriber", "publisher", "seq", name=op.f("pk_gateway_event_deliveries")
        ),
    )
    op.create_index(
        op.f("ix_gateway_event_deliveries_subscriber"),
        "gateway_event_deliveries",
        ["subscriber", "publisher", "subject", "seq"],
    )
    op.create_table(
        "gateway_event_dead_letters",
        sa.Column("subscriber", sa.Text(), nullable=False),
        sa.Column("publisher", sa.Text(), nullable=False),
        _seq(),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("dead_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "subscriber", "publisher", "seq", name=op.f("pk_gateway_event_dead_letters")
        ),
    )
    op.create_table(
        "gateway_event_inbox",
        sa.Column("subscriber", sa.Text(), nullable=False),
        sa.Column("publisher", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("processed_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "subscriber", "publisher", "event_id", name=op.f("pk_gateway_event_inbox")
        ),
    )
    op.create_table(
        "gateway_event_leases",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("owner", sa.Text(), nullable=False),
        sa.Column("until_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_gateway_event_leases")),
    )


def downgrade() -> None:
    op.drop_table("gateway_event_leases")
    op.drop_table("gateway_event_inbox")
    op.drop_table("gateway_event_dead_letters")
    op.drop_index(
        op.f("ix_gateway_event_deliveries_subscriber"), table_name="gateway_event_deliveries"
    )
    op.drop_table("gateway_event_deliveries")
    op.drop_table("gateway_event_feeds")
    op.drop_table("gateway_event_subscriptions")
    op.drop_table("gateway_event_outbox")
    op.drop_table("gateway_event_publishers")
