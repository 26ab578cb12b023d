"""Card sign-in leaves no personal data in the logs: not the name or its reading, the birth
date, the address, the 宛名番号 or the 住民票コード — not even when it refuses someone."""

from __future__ import annotations

import structlog
from fastapi.testclient import TestClient

from identity.card.conftest import Holder
from identity.card.test_signin import approve, start
from personal_data import personal_data_in


def test_card_sign_in_logs_carry_no_personal_data(client: TestClient, holder: Holder) -> None:
    resident = holder.resident
    with structlog.testing.capture_logs() as entries:
        code = start(client)
        assert approve(client, holder, code) == 200
        assert client.get(f"/signin/card/{code}", follow_redirects=False).status_code == 303
        assert client.get(f"/card/signin-requests/{code}").status_code == 409  # used: refused
    logs = "\n".join(repr(entry) for entry in entries)
    assert "/signin/card/{code}" in logs  # route templates, never paths
    assert personal_data_in(entries, resident) == []
