"""Engines, sessions and the declarative base shared by every domain's models."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any, cast

from sqlalchemy import (
    ClauseElement,
    Connection,
    CursorResult,
    Dialect,
    Engine,
    MetaData,
    Table,
    Update,
    bindparam,
    create_engine,
    event,
    func,
    insert,
    literal_column,
    select,
    text,
    union_all,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.sql.compiler import SQLCompiler

# Explicit constraint names keep migrations identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _enable_sqlite_integrity(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_database_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets foreign keys, WAL and its parent folder created."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            from pathlib import Path

            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _enable_sqlite_integrity)
        return engine
    engine = create_engine(url, pool_size=20, max_overflow=20)
    _ping_when_idle(engine)
    return engine


# A pooled connection that has been idle this long is checked before it is lent: the server
# may have restarted or a firewall dropped it meanwhile.  A busy connection is not: pinging
# at every checkout (``pool_pre_ping``) cost a round trip per request, about a tenth of a
# token exchange.  Should the server go away between two busy requests, the first one after
# fails and the pool replaces every connection made before the failure.
IDLE_BEFORE_PING = 10.0  # seconds


def _ping_when_idle(engine: Engine) -> None:
    def note_idle_since(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info["idle_since"] = time.monotonic()

    def ping_if_idle(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < IDLE_BEFORE_PING:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            raise DisconnectionError(f"a pooled connection is gone: {error}") from error
        if not alive:
            raise DisconnectionError("a pooled connection is gone")

    event.listen(engine, "checkin", note_idle_since)
    event.listen(engine, "checkout", ping_if_idle)


RowsFor = tuple[type[Base] | Table, Sequence[Mapping[str, Any]]]


@dataclass(frozen=True, slots=True)
class RenderedStatement:
    """A statement compiled once into the driver's SQL, with each parameter's conversion.

    For the busiest statements, those with DML in their CTEs above all: SQLAlchemy does not
    cache those, and compiling one per request cost more than the database's work.
    """

    sql: str
    processors: Mapping[str, Callable[[Any], Any]]  # each value's conversion, e.g. to JSON
    constants: Mapping[str, Any]  # the values the statement itself gives, such as literals

    @classmethod
    def of(cls, statement: ClauseElement, dialect: Dialect) -> RenderedStatement:
        compiled = cast(SQLCompiler, statement.compile(dialect=dialect))
        processors = {
            name: processor
            for parameter, name in compiled.bind_names.items()
            if (processor := parameter.type.dialect_impl(dialect).bind_processor(dialect))
        }
        constants = {
            name: processors[name](parameter.value) if name in processors else parameter.value
            for parameter, name in compiled.bind_names.items()
            if not parameter.required
        }
        return cls(str(compiled), processors, constants)

    def execute(self, connection: Connection, parameters: Mapping[str, Any]) -> CursorResult[Any]:
        converted = dict(self.constants)
        for key, value in parameters.items():
            processor = self.processors.get(key)
            converted[key] = value if processor is None else processor(value)
        return connection.exec_driver_sql(self.sql, converted)


@cache
def _insert_together_statement(
    dialect: Dialect,
    shape: tuple[tuple[Table, int, tuple[str, ...]], ...],
    guard: Update | None,
) -> RenderedStatement:
    def row(index: int, number: int, table: Table, columns: tuple[str, ...]) -> dict[str, Any]:
        return {
            column: bindparam(f"r{index}_{number}_{column}", type_=table.c[column].type)
            for column in columns
        }

    if guard is None:
        inserts = [
            insert(table)
            .values([row(index, number, table, columns) for number in range(count)])
            .cte(f"inserted_{index}")
            for index, (table, count, columns) in enumerate(shape)
        ]
        return RenderedStatement.of(select(literal_column("1")).add_cte(*inserts), dialect)
    changed = guard.returning(literal_column("1")).cte("changed")
    guarded = [
        insert(table)
        .from_select(
            list(columns),
            union_all(
                *(
                    select(*row(index, number, table, columns).values()).select_from(changed)
                    for number in range(count)
                )
            ),
        )
        .cte(f"inserted_{index}")
        for index, (table, count, columns) in enumerate(shape)
    ]
    statement = select(func.count()).select_from(changed).add_cte(*guarded)
    return RenderedStatement.of(statement, dialect)


def _table_of(target: type[Base] | Table) -> Table:
    return target if isinstance(target, Table) else cast(Table, target.__table__)


def insert_together(
    session: Session,
    *batches: RowsFor,
    after: tuple[Update, Mapping[str, Any]] | None = None,
) -> bool:
    """Insert rows into several tables in ``session``'s transaction.

    On PostgreSQL in one statement (one data-modifying CTE per table, built once per shape
    of rows), which is the round trip and parse that the busiest paths, a token exchange or
    a sign-in, would otherwise pay per table; elsewhere one insert per table, in order.  A
    later table may refer to an earlier one's rows: the foreign keys are checked at the
    statement's end.

    ``after``, a conditional update of one row and its parameters, runs first, in the same
    statement: the rows are inserted only if it changed its row.  Returns whether it did
    (True without one).
    """
    connection = session.connection()
    tables = [(_table_of(target), rows) for target, rows in batches if rows]
    guard, guard_parameters = after if after else (None, {})
    if connection.dialect.name != "postgresql":
        if guard is not None:
            result = connection.execute(guard, dict(guard_parameters))
            if result.rowcount != 1:
                return False
        for table, rows in tables:
            connection.execute(insert(table), list(rows))
        return True
    shape = tuple((table, len(rows), tuple(rows[0])) for table, rows in tables)
    parameters = {
        f"r{index}_{row}_{column}": value
        for index, (_table, rows) in enumerate(tables)
        for row, values in enumerate(rows)
        for column, value in values.items()
    }
    rendered = _insert_together_statement(connection.dialect, shape, guard)
    result = rendered.execute(connection, {**guard_parameters, **parameters})
    return guard is None or result.scalar_one() == 1


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def autocommit_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions in which every statement commits by itself, for work that is one statement.

    A transaction around one statement costs two more round trips (BEGIN and COMMIT); at the
    token endpoint those were half of the database's share of an exchange.
    """
    if engine.dialect.name == "sqlite":
        # An embedded database's transaction costs no round trip: it stays one.
        return session_factory(engine)
    return sessionmaker(
        bind=engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False
    )


def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit when the caller finishes, roll back on any error.

    Services never commit; the request or job that owns the session does, here.
    """
    with factory() as session:
        try:
            yield session
            session.commit()
        except BaseException as error:
            if getattr(error, "keep_changes", False):
                session.commit()  # a refusal that must leave its records (kiban.core.errors)
            else:
                session.rollback()
            raise


@contextmanager
def scratch_postgresql_database(server_url: str, prefix: str = "kiban_scratch") -> Iterator[str]:
    """A new, empty database on the PostgreSQL server of ``server_url``, dropped afterwards.

    For the test suite, benchmarks and trials: each gets a database of its own, so nothing
    it commits can meet anything else's data.
    """
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
