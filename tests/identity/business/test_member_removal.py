"""A prime removes members of their own company from the account page, and nobody else can."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from conftest import PostForm, SignIn
from identity.business.conftest import PASSWORD, Holder, audit_trail
from identity.ca.ca_support import CHIYODA, MakeResident
from kiban.core.sessions import SubjectKind
from kiban.identity.business.service import BusinessService, business_subject


def _remove_path(holder: Holder) -> str:
    return f"/business/account/members/{holder.account.account_id}/remove"


def test_a_prime_removes_a_member_after_confirming(
    client: TestClient,
    db_session: Session,
    sign_in: SignIn,
    post_form: PostForm,
    prime: Holder,
    member: Holder,
) -> None:
    member_session = sign_in(SubjectKind.BUSINESS, member.account.account_id)
    client.cookies.clear()
    sign_in(SubjectKind.BUSINESS, prime.account.account_id)
    page = client.get("/business/account")
    assert _remove_path(member) in page.text

    confirm = client.get(_remove_path(member))
    assert confirm.status_code == 200
    for shown in ("tanaka@example.jp", "サインインできなくなり", "can no longer sign in"):
        assert shown in confirm.text
    assert 'name="csrf_token"' in confirm.text

    without_token = client.post(_remove_path(member), follow_redirects=False)
    assert without_token.status_code == 403
    assert member.account.disabled_at is None

    removed = post_form(_remove_path(member), {})
    assert removed.status_code == 303
    assert removed.headers["location"].startswith("/business/account")
    assert member.account.disabled_reason == "removed_by_prime"
    db_session.refresh(member_session)
    assert member_session.ended_at is not None
    assert audit_trail(db_session, member.account)[-1] == (
        "business.disable",
        "success",
        business_subject(prime.account),
    )
    listed = client.get("/business/account")
    assert "削除済み" in listed.text
    assert _remove_path(member) not in listed.text  # nothing left to remove


def test_a_prime_cannot_remove_another_companys_member(
    client: TestClient,
    db_session: Session,
    sign_in: SignIn,
    post_form: PostForm,
    make_resident: MakeResident,
    member: Holder,
    other_company: str,
) -> None:
    person = make_resident(given="太郎")
    other_prime = BusinessService(db_session).create_prime(
        f"{CHIYODA}:{person.addressee_number}", other_company, "taro@hibiya.example", PASSWORD
    )
    sign_in(SubjectKind.BUSINESS, other_prime.account_id)
    assert client.get(_remove_path(member)).status_code == 404
    refused = post_form(_remove_path(member), {})
    assert refused.status_code == 404
    assert "Your company has no member with this id." in refused.text
    assert member.account.disabled_at is None
    assert audit_trail(db_session, member.account)[-1] == (
        "business.disable",
        "denied",
        business_subject(other_prime),
    )


@pytest.mark.parametrize("who", ["member", "entry"])
def test_members_and_entry_accounts_cannot_remove_anyone(
    client: TestClient,
    db_session: Session,
    sign_in: SignIn,
    post_form: PostForm,
    member: Holder,
    prime: Holder,
    who: str,
) -> None:
    service = BusinessService(db_session)
    if who == "member":
        caller = service.create_member(prime.account, "suzuki@example.jp", "鈴木 四郎").account
    else:
        caller = service.register_entry(
            "entry@example.jp", PASSWORD, "佐藤 次郎", "corporation", prime.account.corporate_number
        )
    sign_in(SubjectKind.BUSINESS, caller.account_id)
    assert client.get(_remove_path(member)).status_code == 403
    refused = post_form(_remove_path(member), {})
    assert refused.status_code == 403
    assert "Only a prime account manages members." in refused.text
    assert member.account.disabled_at is None
    assert audit_trail(db_session, member.account)[-1][1:] == ("denied", business_subject(caller))


def test_a_prime_removes_only_members_not_itself_or_entry_accounts_naming_the_company(
    client: TestClient, db_session: Session, sign_in: SignIn, post_form: PostForm, prime: Holder
) -> None:
    entry = BusinessService(db_session).register_entry(
        "entry@example.jp", PASSWORD, "佐藤 次郎", "corporation", prime.account.corporate_number
    )
    sign_in(SubjectKind.BUSINESS, prime.account.account_id)
    for account in (prime.account, entry):
        assert (
            post_form(f"/business/account/members/{account.account_id}/remove", {}).status_code
            == 404
        )
        assert account.disabled_at is None
    assert post_form("/business/account/members/NOT-AN-ID/remove", {}).status_code == 422
