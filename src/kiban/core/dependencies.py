"""FastAPI dependencies shared by every domain's routes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session


def get_session(request: Request) -> Iterator[Session]:
    """The request's unit of work: ``app.state.unit_of_work``, which is
    :func:`kiban.core.database.session_scope` on the app's engine (the tests swap it)."""
    yield from request.app.state.unit_of_work()


# The same, for a route that runs all of its database work in one worker thread of its own.
unit_of_work = contextmanager(get_session)


def get_single_statement_session(request: Request) -> Iterator[Session]:
    """A session in which each statement commits by itself (``app.state.single_statements``,
    swapped by the tests like ``unit_of_work``), for a request whose every change is one
    statement that stands alone: no BEGIN and COMMIT round trips around it.  On SQLite, where
    they cost none, it is an ordinary unit of work."""
    yield from request.app.state.single_statements()


single_statements = contextmanager(get_single_statement_session)


# scope="function": the unit of work commits when the route returns, before the response is
# sent.  With the default ("request") FastAPI runs the commit after sending, so a client could
# be told "done" about a change that then failed to commit, or act on it before it is visible.
DbSession = Annotated[Session, Depends(get_session, scope="function")]
SingleStatementSession = Annotated[Session, Depends(get_single_statement_session, scope="function")]
