"""Migration 0016 adds the consent artefacts' table and takes it away again."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Connection, inspect, text
from sqlalchemy.exc import IntegrityError

from kiban.core import migrations
from kiban.core.database import create_database_engine

_REGISTRATION = (
    "status, requested_at, requested_by, decided_at, decided_by",
    "'approved', :now, 'operator', :now, 'operator'",
)
_BANK = [
    "INSERT INTO mesh_members (member_class, member_code, name, {0})"
    " VALUES ('COM', '8900000000001', '株式会社さくら銀行', {1})",
    "INSERT INTO mesh_subsystems (member_class, member_code, subsystem_code, {0})"
    " VALUES ('COM', '8900000000001', 'loans', {1})",
]
_CONSENT = (
    "INSERT INTO mesh_consents (id, tenant_code, addressee_number, consumer_class,"
    " consumer_code, consumer_subsystem, service_subsystem, service_code, service_version,"
    " items, purpose, explanation, kind, valid_from, valid_until, granted_at, used_at,"
    " used_message_id, use_count) VALUES (:id, '131016', '0000000018', 'COM', '8900000000001',"
    " 'loans', 'juki', 'resident-certificate', 'v1', '*', 'loan-screening', '審査のため',"
    " :kind, :now, :until, :now, :used_at, :used_message_id, :use_count)"
)


def _consent(connection: Connection, **values: Any) -> None:
    parameters = {
        "id": "4f5d3d0c-0000-4000-8000-000000000000",
        "kind": "one-time",
        "now": datetime.now(UTC),
        "until": date(2027, 3, 31),
        "used_at": None,
        "used_message_id": None,
        "use_count": 0,
        **values,
    }
    connection.execute(text(_CONSENT), parameters)


def test_the_consent_migration_goes_up_and_back(empty_database: str) -> None:
    engine = create_database_engine(empty_database)
    try:
        migrations.upgrade(engine, "0015")
        assert "mesh_consents" not in inspect(engine).get_table_names()
        migrations.upgrade(engine, "0016")
        schema = inspect(engine)
        assert {index["name"] for index in schema.get_indexes("mesh_consents")} == {
            "ix_mesh_consents_subject",
            "ix_mesh_consents_granted_at",
        }
        assert schema.get_pk_constraint("mesh_consents")["constrained_columns"] == ["id"]
        [consumer] = schema.get_foreign_keys("mesh_consents")
        assert consumer["referred_table"] == "mesh_subsystems"
        with engine.begin() as connection:
            for statement in _BANK:
                connection.execute(
                    text(statement.format(*_REGISTRATION)), {"now": datetime.now(UTC)}
                )
            _consent(connection)
        # A one-time consent is spent once, by one exchange; a periodic one is never "spent";
        # a consent is of one of the two kinds.
        for values in (
            {"used_at": datetime.now(UTC)},
            {"used_at": datetime.now(UTC), "used_message_id": "m", "kind": "periodic"},
            {"used_at": datetime.now(UTC), "used_message_id": "m", "use_count": 2},
            {"kind": "weekly"},
            {"use_count": -1},
        ):
            with pytest.raises(IntegrityError), engine.begin() as connection:
                _consent(connection, id="4f5d3d0c-0000-4000-8000-000000000001", **values)
        # Revoked with who revoked it, or not at all.
        with pytest.raises(IntegrityError), engine.begin() as connection:
            connection.execute(text("UPDATE mesh_consents SET revoked_at = granted_at"))

        config = migrations.alembic_config(engine)
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0015")
        assert "mesh_consents" not in inspect(engine).get_table_names()
        migrations.upgrade(engine)
        assert "mesh_consents" in inspect(engine).get_table_names()
    finally:
        engine.dispose()
