"""An operator disables and enables business accounts; a disabled one cannot sign in or act."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from conftest import SignIn
from identity.business.conftest import PASSWORD, Holder, SignInPage, audit_trail
from identity.ca.ca_support import CHIYODA, MakeResident
from kiban.core.errors import NotFound
from kiban.core.sessions import SESSION_COOKIE, SubjectKind
from kiban.identity.business.models import DisabledReason
from kiban.identity.business.service import (
    ANOTHER_PRIME,
    OPERATOR,
    BusinessConflict,
    BusinessService,
    InvalidBusinessRequest,
)

NOT_RIGHT = "The login id, password or code is not right."


def test_a_disabled_account_cannot_sign_in_and_its_sessions_end(
    client: TestClient,
    db_session: Session,
    sign_in: SignIn,
    sign_in_page: SignInPage,
    member: Holder,
) -> None:
    service = BusinessService(db_session)
    open_session = sign_in(SubjectKind.BUSINESS, member.account.account_id)
    assert client.get("/business/account").status_code == 200

    service.disable(member.account, DisabledReason.OPERATOR, actor=OPERATOR)
    ended = client.get("/business/account", follow_redirects=False)
    assert ended.status_code == 303
    assert ended.headers["location"].startswith("/signin")
    db_session.refresh(open_session)
    assert open_session.ended_at is not None

    # Refused like a wrong password, so the page does not tell which accounts exist.
    client.cookies.clear()
    wrong = sign_in_page(member, password="not the password")
    refused = sign_in_page(member)
    assert (wrong.status_code, refused.status_code) == (401, 401)
    assert NOT_RIGHT in wrong.text
    assert NOT_RIGHT in refused.text
    assert SESSION_COOKIE not in refused.headers.get("set-cookie", "")

    service.enable(member.account, actor=OPERATOR)
    signed_in = sign_in_page(member)
    assert signed_in.status_code == 303
    assert f"{SESSION_COOKIE}=" in signed_in.headers["set-cookie"]
    assert audit_trail(db_session, member.account)[-2:] == [
        ("business.disable", "success", OPERATOR),
        ("business.enable", "success", OPERATOR),
    ]


def test_a_session_that_outlived_the_disable_is_refused(
    client: TestClient, db_session: Session, sign_in: SignIn, prime: Holder
) -> None:
    BusinessService(db_session).disable(prime.account, DisabledReason.OPERATOR, actor=OPERATOR)
    sign_in(SubjectKind.BUSINESS, prime.account.account_id)  # as if started in a race
    assert client.get("/business/account", follow_redirects=False).status_code == 303


def test_disabling_or_enabling_twice_records_one_change(
    db_session: Session, member: Holder
) -> None:
    service = BusinessService(db_session)
    service.enable(member.account, actor=OPERATOR)  # already enabled: nothing to record
    for _ in range(2):
        service.disable(member.account, DisabledReason.OPERATOR, actor=OPERATOR)
    first_disable = member.account.disabled_at
    service.disable(member.account, DisabledReason.REMOVED_BY_PRIME, actor=OPERATOR)
    assert member.account.disabled_at == first_disable
    assert member.account.disabled_reason == "operator"  # the first reason stands
    for _ in range(2):
        service.enable(member.account, actor=OPERATOR)
    assert member.account.disabled_reason is None
    changes = [action for action, _outcome, _actor in audit_trail(db_session, member.account)]
    assert changes == ["business.create", "business.disable", "business.enable"]


def test_a_prime_comes_back_only_while_its_company_has_no_other(
    db_session: Session, make_resident: MakeResident, prime: Holder, company: str
) -> None:
    service = BusinessService(db_session)
    service.disable(prime.account, DisabledReason.OPERATOR, actor=OPERATOR)
    successor = make_resident(given="太郎")
    service.create_prime(
        f"{CHIYODA}:{successor.addressee_number}", company, "taro@kasumigaseki.example", PASSWORD
    )
    with pytest.raises(BusinessConflict) as refused:
        service.enable(prime.account, actor=OPERATOR)
    assert refused.value.detail == ANOTHER_PRIME
    assert prime.account.disabled_at is not None
    assert audit_trail(db_session, prime.account)[-1][0] == "business.disable"


def test_an_unknown_or_malformed_login_id_says_so(db_session: Session) -> None:
    service = BusinessService(db_session)
    with pytest.raises(NotFound, match=r"nobody@example\.jp"):
        service.by_login_id("Nobody@Example.jp")
    with pytest.raises(InvalidBusinessRequest, match="A login id is 3-64"):
        service.by_login_id("x")
