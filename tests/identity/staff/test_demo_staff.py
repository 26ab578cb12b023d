"""Demo staff: seeded only while the demo is on, shown only then, and a visitor signs in with
exactly what the demo page shows."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from conftest import PostForm
from identity.staff.conftest import CHIYODA
from kiban.core.config import Settings
from kiban.core.tenancy import StaffRole
from kiban.identity.credentials import AccountStatus
from kiban.identity.staff.demo import seed_demo_staff
from kiban.identity.staff.models import StaffAccount
from kiban.identity.staff.repository import StaffRepository
from kiban.identity.staff.service import StaffService


@pytest.fixture
def demo_settings(settings: Settings, tenants: tuple[str, str]) -> Settings:
    """The app's settings (the same object the test client's app has), with the demo on."""
    settings.demo_wallet = True
    return settings


def demo_accounts(session: Session) -> dict[str, StaffAccount]:
    return {
        account.login_id: account
        for account in StaffRepository(session, CHIYODA).all()
        if account.login_id.startswith("demo-")
    }


def seed(session: Session, settings: Settings) -> int:
    # One tenant is enough, and each new account costs a password hash.
    return seed_demo_staff(session, settings, (CHIYODA,))


def test_one_account_per_role_ready_to_sign_in(
    db_session: Session, demo_settings: Settings
) -> None:
    assert seed(db_session, demo_settings) == 4
    accounts = demo_accounts(db_session)
    assert {login: account.roles for login, account in accounts.items()} == {
        f"demo-{role.value}": role.value for role in StaffRole
    }
    assert {account.status for account in accounts.values()} == {AccountStatus.ACTIVE}
    assert seed(db_session, demo_settings) == 0  # idempotent


def test_seeding_again_undoes_what_visitors_changed(
    db_session: Session, demo_settings: Settings
) -> None:
    seed(db_session, demo_settings)
    accounts = demo_accounts(db_session)
    # What a visitor signed in as the demo admin can do to the others:
    admin = StaffService(db_session, CHIYODA, actor="staff:131016:someone")
    admin.disable(accounts["demo-clerk"].staff_id)
    admin.reset(accounts["demo-auditor"].staff_id)
    admin.set_roles(accounts["demo-supervisor"].staff_id, ["admin"])
    assert seed(db_session, demo_settings) == 3
    accounts = demo_accounts(db_session)
    assert {account.status for account in accounts.values()} == {AccountStatus.ACTIVE}
    assert accounts["demo-supervisor"].roles == "supervisor"


def test_with_the_demo_off_there_are_no_demo_staff_and_no_page(
    db_session: Session, settings: Settings, client: TestClient, tenants: tuple[str, str]
) -> None:
    assert seed(db_session, settings) == 0
    assert demo_accounts(db_session) == {}
    assert client.get("/demo/staff").status_code == 404
    settings.demo_wallet = True
    seed(db_session, settings)
    settings.demo_wallet = False  # turned off after a demo: seeding disables them
    assert client.get("/demo/staff").status_code == 404
    assert seed(db_session, settings) == 4
    accounts = demo_accounts(db_session).values()
    assert {account.status for account in accounts} == {AccountStatus.DISABLED}


def _shown(page: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}">([^<]+)<', page)
    assert match, f"{element_id} is not on the page"
    return match.group(1)


def test_a_visitor_signs_in_with_what_the_page_shows(
    db_session: Session, demo_settings: Settings, client: TestClient, post_form: PostForm
) -> None:
    seed(db_session, demo_settings)

    def sign_in_as_shown() -> str:
        page = client.get("/demo/staff")
        assert page.status_code == 200
        assert "DEMO ONLY" in page.text
        code = _shown(page.text, f"code-{CHIYODA}-demo-clerk")
        signed_in = post_form(
            "/staff/signin",
            {
                "tenant_code": CHIYODA,
                "login_id": "demo-clerk",
                "password": _shown(page.text, "demo-password"),
                "code": code,
            },
        )
        assert (signed_in.status_code, signed_in.headers["location"]) == (303, "/staff")
        assert "demo-clerk" in client.get("/staff").text
        return code

    first = sign_in_as_shown()
    assert post_form("/staff/signout", {}).status_code == 303
    # The first code is spent: the page shows the next one, which sign-in accepts at once.
    assert sign_in_as_shown() != first
