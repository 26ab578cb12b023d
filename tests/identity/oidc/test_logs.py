"""Signing in to a relying party leaves no personal data in the logs, only references."""

from __future__ import annotations

import pytest
import structlog
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from identity.oidc.provider_support import RP_CALLBACK, TESTSERVER, register
from identity.oidc.relying_party import RelyingParty, authorize
from kiban.core.config import Settings
from kiban.residents.models import Resident
from personal_data import personal_data_in


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Info-level logs: the request lines are what is checked."""
    return settings.model_copy(update={"log_level": "info"})


def test_oidc_logs_carry_no_personal_data(
    resident_browser: TestClient, db_session: Session, resident: Resident
) -> None:
    client_id, secret = register(db_session)
    rp = RelyingParty(resident_browser, TESTSERVER, client_id, RP_CALLBACK, secret=secret)
    with structlog.testing.capture_logs() as entries:
        attempt = rp.start()
        callback = authorize(resident_browser, attempt.url).headers["location"]
        issued = rp.token_request(rp.code_from(attempt, callback), attempt.verifier).json()
        assert rp.userinfo(issued["access_token"]).json()["family_name"] == "山田"
        assert rp.userinfo("not-a-token").status_code == 401
    logs = "\n".join(repr(entry) for entry in entries)
    assert "/oidc/token" in logs
    assert personal_data_in(entries, resident, issued["access_token"]) == []
