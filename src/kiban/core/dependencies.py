"""FastAPI dependencies shared by every domain's routes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from kiban.core.database import session_scope


def get_session(request: Request) -> Iterator[Session]:
    yield from session_scope(request.app.state.session_factory)


# scope="function": the unit of work commits when the route returns, before the response is
# sent.  With the default ("request") FastAPI runs the commit after sending, so a client could
# be told "done" about a change that then failed to commit, or act on it before it is visible.
DbSession = Annotated[Session, Depends(get_session, scope="function")]
