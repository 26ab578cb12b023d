"""Tenants with staff, and form posts as a browser makes them (with the CSRF token)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx2
import pytest
from sqlalchemy.orm import Session

from conftest import PostForm
from kiban.core.config import Settings
from kiban.identity.credentials import new_totp_secret, time_step, totp_box, totp_code
from kiban.identity.staff.models import StaffAccount
from kiban.identity.staff.service import StaffService
from kiban.tenants.service import TenantService

CHIYODA = "131016"
HACHIOJI = "132012"
PASSWORD = "kasumigaseki-1-3-1"


@dataclass
class Staff:
    account: StaffAccount
    password: str
    secret: str

    def code(self, offset: int = 0) -> str:
        return totp_code(self.secret, time_step(datetime.now(UTC)) + offset)


MakeStaff = Callable[..., Staff]


@pytest.fixture
def tenants(db_session: Session) -> tuple[str, str]:
    service = TenantService(db_session)
    service.enable(CHIYODA)
    service.enable(HACHIOJI)
    return CHIYODA, HACHIOJI


@pytest.fixture
def make_staff(db_session: Session, settings: Settings, tenants: tuple[str, str]) -> MakeStaff:
    """A staff account that has finished its set-up: password ``PASSWORD``, TOTP enrolled."""

    def make(login_id: str, roles: Sequence[str], tenant_code: str = CHIYODA) -> Staff:
        issued = StaffService(db_session, tenant_code).create(
            login_id, f"職員 {login_id}", roles, PASSWORD
        )
        account = issued.account
        secret = new_totp_secret()
        account.totp_secret_sealed = totp_box(settings).seal(secret, account.credential_context())
        account.totp_enrolled_at = datetime.now(UTC)
        db_session.flush()
        return Staff(account, PASSWORD, secret)

    return make


SignInPage = Callable[..., httpx2.Response]


@pytest.fixture
def sign_in_page(post_form: PostForm) -> SignInPage:
    """Sign in through ``/staff/signin`` with the staff member's current code."""

    def sign_in(
        staff: Staff, *, code: str | None = None, password: str | None = None
    ) -> httpx2.Response:
        return post_form(
            "/staff/signin",
            {
                "tenant_code": staff.account.tenant_code,
                "login_id": staff.account.login_id,
                "password": staff.password if password is None else password,
                "code": staff.code() if code is None else code,
            },
        )

    return sign_in
