"""Database access for CLI commands, with connection problems reported as one line."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from kiban.cli.errors import CliError
from kiban.core.config import get_settings
from kiban.core.database import create_database_engine, session_factory, session_scope


def cli_engine() -> Engine:
    return create_database_engine(get_settings().database_url)


@contextmanager
def cli_session(engine: Engine | None = None) -> Iterator[Session]:
    """A unit of work that commits on success; a database that cannot be reached is a CliError."""
    engine = engine or cli_engine()
    try:
        yield from session_scope(session_factory(engine))
    except OperationalError as error:
        raise CliError(f"database error: {error.orig or error}".splitlines()[0]) from error
    finally:
        engine.dispose()
