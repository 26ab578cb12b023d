"""A request's unit of work commits before its response is sent: a client is never told a
change succeeded that then failed to commit."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from kiban.app import create_app
from kiban.core.access import PublicAccess
from kiban.core.audit import AuditOutcome, record_audit
from kiban.core.config import Settings
from kiban.core.dependencies import DbSession


class CommitRefused(RuntimeError):
    pass


def _refuse_commit(_session: Session) -> None:
    raise CommitRefused("the database refused the commit")


@pytest.fixture
def committing_client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    """The real unit of work per request, not the tests' shared rolled-back one."""
    app: FastAPI = create_app(settings, engine)

    @app.post("/test/write", dependencies=[PublicAccess])
    def write(session: DbSession) -> dict[str, str]:
        record_audit(session, "test.write", AuditOutcome.SUCCESS)
        event.listen(session, "before_commit", _refuse_commit)
        return {"status": "written"}

    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
        yield client


def test_a_failed_commit_is_an_error_not_a_success(committing_client: TestClient) -> None:
    response = committing_client.post("/test/write")
    assert response.status_code == 500
    assert response.json()["type"].endswith("/internal-error")
