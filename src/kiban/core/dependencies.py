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


@contextmanager
def single_statements(request: Request) -> Iterator[Session]:
    """A session in which each statement commits by itself (``app.state.single_statements``,
    swapped by the tests like ``unit_of_work``), for work that is one statement."""
    yield from request.app.state.single_statements()


# scope="function": the unit of work commits when the route returns, before the response is
# sent.  With the default ("request") FastAPI runs the commit after sending, so a client could
# be told "done" about a change that then failed to commit, or act on it before it is visible.
DbSession = Annotated[Session, Depends(get_session, scope="function")]
