"""Migration 0015 adds the data tracker's table and takes it away again."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kiban.core import migrations
from kiban.core.database import create_database_engine
from mesh.tracker.tracker_support import store, use

_CHIYODA = (
    "INSERT INTO mesh_members VALUES ('LG', '131016', '千代田区', 'approved', :now, 'operator',"
    " :now, 'operator', NULL)"
)


def test_the_data_tracker_migration_goes_up_and_back(empty_database: str) -> None:
    engine = create_database_engine(empty_database)
    try:
        migrations.upgrade(engine, "0014")
        assert "mesh_data_uses" not in inspect(engine).get_table_names()
        migrations.upgrade(engine, "0015")
        schema = inspect(engine)
        assert {index["name"] for index in schema.get_indexes("mesh_data_uses")} == {
            "ix_mesh_data_uses_subject",
            "ix_mesh_data_uses_used_at",
        }
        assert schema.get_pk_constraint("mesh_data_uses")["constrained_columns"] == [
            "provider_class",
            "provider_code",
            "message_id",
        ]
        with Session(engine) as session:
            session.execute(text(_CHIYODA), {"now": datetime.now(UTC)})
            assert store(session, [use(), use()]).accepted == 2
            session.commit()
        # A record is hidden with its day, reason, actor and time, or not at all.
        with pytest.raises(IntegrityError), engine.begin() as connection:
            connection.execute(text("UPDATE mesh_data_uses SET hidden_until = '2027-03-31'"))

        config = migrations.alembic_config(engine)
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0014")
        assert "mesh_data_uses" not in inspect(engine).get_table_names()
        migrations.upgrade(engine)
        assert "mesh_data_uses" in inspect(engine).get_table_names()
    finally:
        engine.dispose()
