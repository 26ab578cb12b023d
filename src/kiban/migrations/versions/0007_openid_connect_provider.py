"""OpenID Connect clients, codes, tokens and consents

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 21:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _client_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["client_id"], ["oidc_clients.client_id"], name=op.f(f"fk_{table}_client_id_oidc_clients")
    )


def upgrade() -> None:
    op.create_table(
        "oidc_signing_keys",
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("algorithm", sa.String(length=16), nullable=False),
        sa.Column("public_jwk", sa.Text(), nullable=False),
        sa.Column("private_key_encrypted", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("kid", name=op.f("pk_oidc_signing_keys")),
    )
    op.create_table(
        "oidc_clients",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("purpose", sa.String(length=1000), nullable=False),
        sa.Column("redirect_uris", sa.Text(), nullable=False),
        sa.Column("post_logout_redirect_uris", sa.Text(), nullable=False),
        sa.Column("auth_method", sa.String(length=32), nullable=False),
        sa.Column("secret_sha256", sa.String(length=64), nullable=True),
        sa.Column("jwks", sa.Text(), nullable=True),
        sa.Column("jwks_uri", sa.String(length=2048), nullable=True),
        sa.Column("scope", sa.String(length=256), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "auth_method IN ('client_secret_basic', 'private_key_jwt')",
            name=op.f("ck_oidc_clients_auth_method"),
        ),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_oidc_clients")),
    )
    op.create_table(
        "oidc_authorization_codes",
        sa.Column("code_sha256", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=128), nullable=False),
        sa.Column("sub", sa.String(length=64), nullable=False),
        sa.Column("redirect_uri", sa.String(length=2048), nullable=False),
        sa.Column("scope", sa.String(length=256), nullable=False),
        sa.Column("nonce", sa.String(length=256), nullable=True),
        sa.Column("code_challenge", sa.String(length=128), nullable=False),
        sa.Column("acr", sa.String(length=16), nullable=False),
        sa.Column("amr", sa.String(length=64), nullable=False),
        sa.Column("auth_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        _client_fk("oidc_authorization_codes"),
        sa.PrimaryKeyConstraint("code_sha256", name=op.f("pk_oidc_authorization_codes")),
    )
    op.create_table(
        "oidc_grants",
        sa.Column("grant_id", sa.String(length=32), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=128), nullable=False),
        sa.Column("sub", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=256), nullable=False),
        sa.Column("acr", sa.String(length=16), nullable=False),
        sa.Column("amr", sa.String(length=64), nullable=False),
        sa.Column("auth_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("code_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        _client_fk("oidc_grants"),
        sa.PrimaryKeyConstraint("grant_id", name=op.f("pk_oidc_grants")),
    )
    op.create_index("ix_oidc_grants_code_sha256", "oidc_grants", ["code_sha256"])
    op.create_index("ix_oidc_grants_subject", "oidc_grants", ["subject", "client_id"])
    op.create_table(
        "oidc_tokens",
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("grant_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('access', 'refresh')", name=op.f("ck_oidc_tokens_kind")),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["oidc_grants.grant_id"],
            name=op.f("fk_oidc_tokens_grant_id_oidc_grants"),
        ),
        sa.PrimaryKeyConstraint("token_sha256", name=op.f("pk_oidc_tokens")),
    )
    op.create_index("ix_oidc_tokens_grant_id", "oidc_tokens", ["grant_id"])
    op.create_table(
        "oidc_consents",
        sa.Column("subject", sa.String(length=128), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=256), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        _client_fk("oidc_consents"),
        sa.PrimaryKeyConstraint("subject", "client_id", name=op.f("pk_oidc_consents")),
    )
    op.create_table(
        "oidc_client_assertions",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("jti", sa.String(length=256), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        _client_fk("oidc_client_assertions"),
        sa.PrimaryKeyConstraint("client_id", "jti", name=op.f("pk_oidc_client_assertions")),
    )


def downgrade() -> None:
    op.drop_table("oidc_client_assertions")
    op.drop_table("oidc_consents")
    op.drop_index("ix_oidc_tokens_grant_id", table_name="oidc_tokens")
    op.drop_table("oidc_tokens")
    op.drop_index("ix_oidc_grants_subject", table_name="oidc_grants")
    op.drop_index("ix_oidc_grants_code_sha256", table_name="oidc_grants")
    op.drop_table("oidc_grants")
    op.drop_table("oidc_authorization_codes")
    op.drop_table("oidc_clients")
    op.drop_table("oidc_signing_keys")
