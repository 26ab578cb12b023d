"""Schema migrations (Alembic), run by ``kiban db upgrade`` and by the test suite."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, MetaData

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def target_metadata() -> MetaData:
    """The metadata of every domain's models, imported so that each table is registered."""
    from kiban.core.database import Base
    from kiban.models import import_all_models

    import_all_models()
    return Base.metadata


def alembic_config(engine: Engine, scripts: Path = MIGRATIONS_DIR) -> Config:
    """Alembic's configuration for ``engine``: the platform's scripts, or another database's
    (the mesh gateway's, ``kiban.mesh.gateway.database``)."""
    config = Config()
    config.set_main_option("script_location", str(scripts))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head", scripts: Path = MIGRATIONS_DIR) -> None:
    config = alembic_config(engine, scripts)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
