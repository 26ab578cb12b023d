"""The gateway's own database: its message log, apart from the platform's database.

A gateway runs at each member organisation, often where no kiban platform runs at all, so its
database has its own models (``GatewayBase``) and its own migrations, recorded in their own
version table: the two can even share one PostgreSQL database without meeting.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, MetaData, event
from sqlalchemy.orm import DeclarativeBase

from kiban.core import migrations
from kiban.core.database import NAMING_CONVENTION, create_database_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "kiban_gateway_version"


class GatewayBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def gateway_metadata() -> MetaData:
    """The metadata of every gateway table, imported so that each is registered."""
    import kiban.mesh.events.models
    import kiban.mesh.gateway.log_records
    import kiban.mesh.gateway.tracker  # noqa: F401

    return GatewayBase.metadata


def _sync_fully(dbapi_connection: Any, _record: Any) -> None:
    # A logged exchange has been answered: losing it to a power cut, which SQLite's default
    # for WAL (synchronous=NORMAL) allows, would be losing evidence.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


def gateway_revision(engine: Engine) -> str | None:
    """The schema revision of the gateway database of ``engine``; None when it has none."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


def open_gateway_database(url: str) -> Engine:
    """An engine for the gateway database at ``url``, upgraded to the newest schema."""
    engine = create_database_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sync_fully)
    migrations.upgrade(engine, scripts=MIGRATIONS_DIR)
    return engine
