"""Business IDs through their pages: entry, prime (card + 法人番号), members, sign-in, claims."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from conftest import PostForm, SignIn
from identity.business.conftest import PASSWORD, Holder
from kiban.core.audit import AuditEvent
from kiban.core.errors import NotFound, ProblemError
from kiban.core.identifiers import corporate_number_check_digit
from kiban.core.sessions import SESSION_COOKIE, SubjectKind
from kiban.identity.business.repository import BusinessRepository
from kiban.identity.business.service import BusinessService, business_claims
from kiban.identity.credentials import time_step, totp_code
from kiban.registry.corporations.models import Corporation

CHIYODA = "131016"
BASE = "000012345678"


def _finish_setup(client: TestClient, post_form: PostForm, location: str, **extra: str) -> str:
    """Follow the set-up page: scan (read) the secret, send the first code."""
    assert location.startswith("/business/setup")
    page = client.get(location)
    assert page.status_code == 200
    match = re.search(r'<code class="code">([A-Z2-7]+)</code>', page.text)
    assert match is not None
    secret = match.group(1)
    done = post_form(
        "/business/setup", {"code": totp_code(secret, time_step(datetime.now(UTC))), **extra}
    )
    assert done.status_code == 303, done.text
    assert f"{SESSION_COOKIE}=" in done.headers["set-cookie"]
    return secret


def test_an_entry_account_registers_itself_with_lower_assurance(
    client: TestClient, db_session: Session, post_form: PostForm
) -> None:
    weak = post_form(
        "/business/register",
        {
            "login_id": "owner@example.jp",
            "password": "short",
            "name": "佐藤 次郎",
            "corp_type": "sole_proprietor",
        },
    )
    assert weak.status_code == 422
    registered = post_form(
        "/business/register",
        {
            "login_id": "Owner@Example.jp",
            "password": PASSWORD,
            "name": "佐藤 次郎",
            "corp_type": "sole_proprietor",
        },
    )
    assert registered.status_code == 303
    _finish_setup(client, post_form, registered.headers["location"])
    page = client.get("/business/account")
    assert page.status_code == 200
    assert "owner@example.jp" in page.text
    assert "ial1" in page.text
    account = BusinessService(db_session).by_login_id("Owner@Example.jp")
    claims = business_claims(db_session, account.account_id)
    assert (claims.account_type, claims.corp_type, claims.ial) == (
        "entry",
        "sole_proprietor",
        "ial1",
    )
    assert (claims.corporate_number, claims.address, claims.name) == (None, None, "佐藤 次郎")


def test_a_prime_is_the_card_holder_for_a_registered_company(
    client: TestClient,
    db_session: Session,
    post_form: PostForm,
    sign_in: SignIn,
    company: str,
    resident: str,
) -> None:
    sign_in(SubjectKind.RESIDENT, resident, tenant_code=CHIYODA, acr="aal3", amr=("swk", "pin"))
    bad = client.get("/business/prime", params={"corporate_number": "1" + BASE})
    assert bad.status_code == 422
    unknown_base = "000099999999"
    unknown = client.get(
        "/business/prime",
        params={"corporate_number": corporate_number_check_digit(unknown_base) + unknown_base},
    )
    assert unknown.status_code == 404
    confirm = client.get("/business/prime", params={"corporate_number": company})
    assert confirm.status_code == 200
    for shown in ("山田 花子", "霞が関一丁目1-3", "株式会社霞が関テスト", "霞が関一丁目3-1"):
        assert shown in confirm.text

    created = post_form(
        "/business/prime",
        {
            "corporate_number": company,
            "login_id": "yamada@kasumigaseki.example",
            "password": PASSWORD,
        },
    )
    assert created.status_code == 303
    _finish_setup(client, post_form, created.headers["location"])
    prime = BusinessService(db_session).by_login_id("yamada@kasumigaseki.example")
    claims = business_claims(db_session, prime.account_id)
    assert claims.account_type == "prime"
    assert claims.ial == "ial2"
    assert claims.name == "山田 花子"
    assert claims.corporate_number == company
    assert claims.address is not None
    assert claims.address.endswith("千代田区霞が関一丁目3-1")

    # One prime per company.
    client.cookies.clear()
    sign_in(SubjectKind.RESIDENT, resident, tenant_code=CHIYODA, acr="aal3", amr=("swk", "pin"))
    second = post_form(
        "/business/prime",
        {"corporate_number": company, "login_id": "another@example.jp", "password": PASSWORD},
    )
    assert second.status_code == 409


def test_a_prime_adds_members_who_change_their_one_time_password(
    client: TestClient,
    db_session: Session,
    post_form: PostForm,
    sign_in: SignIn,
    company: str,
    resident: str,
) -> None:
    service = BusinessService(db_session)
    prime = service.create_prime(resident, company, "yamada@example.jp", PASSWORD)
    sign_in(SubjectKind.BUSINESS, prime.account_id)
    added = post_form(
        "/business/account/members", {"login_id": "staff1@example.jp", "name": "田中 三郎"}
    )
    assert added.status_code == 201
    match = re.search(r'<strong class="code" id="password">([^<]+)</strong>', added.text)
    assert match is not None
    member = service.by_login_id("staff1@example.jp")
    assert member.created_by == prime.account_id
    assert business_claims(db_session, member.account_id).ial == "ial2"

    client.cookies.clear()
    first = post_form(
        "/business/signin",
        {"login_id": "staff1@example.jp", "password": match.group(1), "code": ""},
    )
    assert first.status_code == 303
    _finish_setup(
        client,
        post_form,
        first.headers["location"],
        new_password="a new long passphrase",
        confirm_password="a new long passphrase",
    )
    db_session.refresh(member)
    assert not member.password_must_change


def test_an_entry_account_cannot_add_members(
    client: TestClient, db_session: Session, post_form: PostForm, sign_in: SignIn
) -> None:
    entry = BusinessService(db_session).register_entry(
        "entry@example.jp", PASSWORD, "佐藤", "sole_proprietor", None
    )
    sign_in(SubjectKind.BUSINESS, entry.account_id)
    added = post_form("/business/account/members", {"login_id": "x1@example.jp", "name": "x"})
    assert added.status_code == 403
    assert BusinessRepository(db_session).by_login_id("x1@example.jp") is None


def test_business_sign_in_failures_are_audited_and_lock(
    client: TestClient, db_session: Session, post_form: PostForm
) -> None:
    BusinessService(db_session).register_entry(
        "entry@example.jp", PASSWORD, "佐藤", "sole_proprietor", None
    )
    for _ in range(5):
        failed = post_form(
            "/business/signin",
            {"login_id": "entry@example.jp", "password": "wrong password!", "code": ""},
        )
        assert failed.status_code == 401
    locked = post_form(
        "/business/signin", {"login_id": "entry@example.jp", "password": PASSWORD, "code": ""}
    )
    assert locked.status_code == 429
    outcomes = [
        event.outcome
        for event in db_session.scalars(
            select(AuditEvent).where(AuditEvent.action == "business.sign_in")
        )
    ]
    assert outcomes.count("failure") >= 6


def test_claims_of_an_unknown_account_are_not_found(db_session: Session) -> None:
    with pytest.raises(NotFound):
        business_claims(db_session, "0123456789abcdef")


@settings(max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.from_regex(r"[0-9]{13}", fullmatch=True))
def test_a_corporate_number_is_refused_for_its_check_digit_or_absence(
    db_session: Session, text: str
) -> None:
    with pytest.raises(ProblemError) as refused:
        BusinessService(db_session).company(text)
    valid = corporate_number_check_digit(text[1:]) == text[0]
    assert refused.value.status == (404 if valid else 422)


def test_the_account_page_still_shows_a_company_whose_registration_closed(
    client: TestClient, db_session: Session, sign_in: SignIn, prime: Holder, company: str
) -> None:
    db_session.execute(
        update(Corporation).where(Corporation.number == company).values(closed_on=date(2026, 3, 31))
    )
    sign_in(SubjectKind.BUSINESS, prime.account.account_id)
    page = client.get("/business/account")
    assert page.status_code == 200
    assert "株式会社霞が関テスト" in page.text
    assert "2026-03-31 に閉鎖" in page.text
