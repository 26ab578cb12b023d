"""Companies, their representatives, and business accounts that have finished their set-up."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx2
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from companies import add_company
from conftest import PostForm
from identity.ca.ca_support import MakeResident, make_resident
from kiban.core.audit import AuditEvent
from kiban.core.config import Settings
from kiban.identity.business.models import BusinessAccount
from kiban.identity.business.service import BusinessService, business_subject
from kiban.identity.credentials import new_totp_secret, time_step, totp_box, totp_code

__all__ = ["make_resident"]

PASSWORD = "kasumigaseki-1-3-1"


@pytest.fixture
def company(db_session: Session) -> str:
    return add_company(db_session, "000012345678", "株式会社霞が関テスト", "カスミガセキテスト")


@pytest.fixture
def other_company(db_session: Session) -> str:
    return add_company(
        db_session, "000012345679", "株式会社日比谷テスト", "ヒビヤテスト", banchi="1-1"
    )


@pytest.fixture
def resident(make_resident: MakeResident) -> str:
    """The resident record (``131016:…``) of 山田 花子, who represents the companies."""
    person = make_resident()
    return f"{person.tenant_code}:{person.addressee_number}"


@dataclass
class Holder:
    """An account and what its holder knows: the password and the authenticator's secret."""

    account: BusinessAccount
    secret: str

    def code(self) -> str:
        return totp_code(self.secret, time_step(datetime.now(UTC)))


SetUp = Callable[[BusinessAccount], Holder]


@pytest.fixture
def set_up(db_session: Session, settings: Settings) -> SetUp:
    """Finish ``account``'s first sign-in as its holder would: ``PASSWORD``, TOTP enrolled."""

    def finish(account: BusinessAccount) -> Holder:
        secret = new_totp_secret()
        account.set_password(PASSWORD)
        account.password_must_change = False
        account.totp_secret_sealed = totp_box(settings).seal(secret, account.credential_context())
        account.totp_enrolled_at = datetime.now(UTC)
        db_session.flush()
        return Holder(account, secret)

    return finish


@pytest.fixture
def prime(db_session: Session, set_up: SetUp, resident: str, company: str) -> Holder:
    account = BusinessService(db_session).create_prime(
        resident, company, "yamada@kasumigaseki.example", PASSWORD
    )
    return set_up(account)


@pytest.fixture
def member(db_session: Session, set_up: SetUp, prime: Holder) -> Holder:
    issued = BusinessService(db_session).create_member(
        prime.account, "tanaka@example.jp", "田中 三郎"
    )
    return set_up(issued.account)


SignInPage = Callable[..., httpx2.Response]


@pytest.fixture
def sign_in_page(post_form: PostForm) -> SignInPage:
    """Sign in through ``/business/signin`` with the holder's password and current code."""

    def sign_in(holder: Holder, *, password: str = PASSWORD) -> httpx2.Response:
        return post_form(
            "/business/signin",
            {"login_id": holder.account.login_id, "password": password, "code": holder.code()},
        )

    return sign_in


def audit_trail(session: Session, account: BusinessAccount) -> list[tuple[str, str, str | None]]:
    """The account's audit events other than sign-ins: (action, outcome, actor), oldest first."""
    events = session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.subject == business_subject(account),
            AuditEvent.action != "business.sign_in",
        )
        .order_by(AuditEvent.id)
    )
    return [(event.action, event.outcome, event.actor) for event in events]
