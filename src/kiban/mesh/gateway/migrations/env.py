"""Alembic environment of the gateway's database (see kiban.mesh.gateway.database)."""

from __future__ import annotations

from alembic import context

from kiban.mesh.gateway.database import VERSION_TABLE, gateway_metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=gateway_metadata(),
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    version_table=VERSION_TABLE,
)
with context.begin_transaction():
    context.run_migrations()
