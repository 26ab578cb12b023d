"""Staff sign-in as a browser does it: first sign-in set-up, TOTP, lockouts, timeouts, roles."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kiban.core.audit import AuditEvent
from kiban.core.sessions import SESSION_COOKIE, AuthSession
from kiban.core.throttle import ThrottleBucket
from kiban.identity.credentials import time_step, totp_code
from kiban.identity.staff.service import StaffService

CHIYODA = "131016"
Fixture = Callable[..., Any]


def _events(db_session: Session, action: str) -> list[AuditEvent]:
    statement = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
    return list(db_session.scalars(statement))


def _session_row(db_session: Session, staff_id: str) -> AuthSession:
    statement = select(AuthSession).where(AuthSession.subject_id == staff_id)
    return db_session.scalars(statement).one()


def test_first_sign_in_changes_the_password_and_enrols_totp(
    client: TestClient, db_session: Session, tenants: Any, post_form: Fixture
) -> None:
    issued = StaffService(db_session, CHIYODA).create("suzuki", "鈴木 一郎", ["clerk"])
    first = post_form(
        "/staff/signin",
        {
            "tenant_code": CHIYODA,
            "login_id": "Suzuki",
            "password": issued.password,
            "code": "",
            "next": "/tenants/131016/residents?kana=ヤマダ",
        },
    )
    assert first.status_code == 303
    assert first.headers["location"].startswith("/staff/setup?next=")
    assert SESSION_COOKIE not in client.cookies  # no session before TOTP is enrolled

    page = client.get(first.headers["location"])
    assert page.status_code == 200
    assert "<svg" in page.text
    assert "12文字以上" in page.text  # the policy is said on the page
    secret = re.search(r'<code class="code">([A-Z2-7]+)</code>', page.text)
    assert secret is not None
    code = totp_code(secret.group(1), time_step(datetime.now(UTC)))

    weak = post_form(
        "/staff/setup",
        {"new_password": "short", "confirm_password": "short", "code": code},
    )
    assert weak.status_code == 422
    done = post_form(
        "/staff/setup",
        {
            "new_password": "a much longer passphrase",
            "confirm_password": "a much longer passphrase",
            "code": code,
            "next": "/tenants/131016/residents?kana=ヤマダ",
        },
    )
    assert done.status_code == 303
    assert unquote(done.headers["location"]) == "/tenants/131016/residents?kana=ヤマダ"
    auth_session = _session_row(db_session, issued.account.staff_id)
    assert (auth_session.acr, auth_session.amr_values) == ("aal2", ["pwd", "otp"])
    assert auth_session.tenant_code == CHIYODA
    assert auth_session.role_set == {"clerk"}

    workspace = client.get("/staff")
    assert workspace.status_code == 200
    assert "suzuki" in workspace.text
    db_session.refresh(issued.account)
    assert not issued.account.needs_setup
    # The initial password no longer works.
    client.cookies.clear()
    again = post_form(
        "/staff/signin",
        {"tenant_code": CHIYODA, "login_id": "suzuki", "password": issued.password, "code": ""},
    )
    assert again.status_code == 401


def test_sign_in_with_password_and_code(
    client: TestClient, db_session: Session, make_staff: Fixture, sign_in_page: Fixture
) -> None:
    staff = make_staff("tanaka", ["clerk", "supervisor"])
    response = sign_in_page(staff)
    assert response.status_code == 303
    assert response.headers["location"] == "/staff"
    assert client.get("/staff").status_code == 200
    events = _events(db_session, "staff.sign_in")
    assert [(event.outcome, event.subject) for event in events] == [
        ("success", f"staff:{CHIYODA}:{staff.account.staff_id}")
    ]


def test_a_form_without_its_csrf_token_is_refused(
    client: TestClient, db_session: Session, make_staff: Fixture
) -> None:
    staff = make_staff("tanaka", ["clerk"])
    response = client.post(
        "/staff/signin",
        data={
            "tenant_code": CHIYODA,
            "login_id": "tanaka",
            "password": staff.password,
            "code": staff.code(),
        },
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert SESSION_COOKIE not in client.cookies
    assert _events(db_session, "staff.sign_in") == []


def test_a_wrong_password_or_code_is_refused_and_audited(
    client: TestClient, db_session: Session, make_staff: Fixture, sign_in_page: Fixture
) -> None:
    staff = make_staff("tanaka", ["clerk"])
    assert sign_in_page(staff, password="not the password").status_code == 401
    wrong_code = "000000" if staff.code() != "000000" else "111111"
    assert sign_in_page(staff, code=wrong_code).status_code == 401
    assert SESSION_COOKIE not in client.cookies
    events = _events(db_session, "staff.sign_in")
    assert [(event.outcome, (event.details or {}).get("reason")) for event in events] == [
        ("failure", "bad_password"),
        ("failure", "bad_code"),
    ]
    # No password, code or name in the audit trail.
    for event in events:
        assert staff.password not in str(event.details)


def test_a_used_code_cannot_sign_in_again(
    client: TestClient, make_staff: Fixture, sign_in_page: Fixture
) -> None:
    staff = make_staff("tanaka", ["clerk"])
    code = staff.code()
    assert sign_in_page(staff, code=code).status_code == 303
    client.cookies.delete(SESSION_COOKIE)
    assert sign_in_page(staff, code=code).status_code == 401


def test_repeated_failures_lock_the_account_until_the_lock_expires(
    client: TestClient, db_session: Session, make_staff: Fixture, sign_in_page: Fixture
) -> None:
    staff = make_staff("tanaka", ["clerk"])
    for _ in range(5):
        assert sign_in_page(staff, password="not the password").status_code == 401
    locked = sign_in_page(staff)
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) > 600
    assert "ロック" in locked.text or "失敗が続いた" in locked.text
    assert SESSION_COOKIE not in client.cookies
    reasons = [
        (event.details or {}).get("reason") for event in _events(db_session, "staff.sign_in")
    ]
    assert reasons[-2:] == ["locked_now", "account-locked"]

    # Fifteen minutes later the lock has expired.
    db_session.execute(
        update(ThrottleBucket)
        .where(ThrottleBucket.bucket == f"staff-signin:account:{CHIYODA}:tanaka")
        .values(locked_until=datetime.now(UTC) - timedelta(seconds=1))
    )
    assert sign_in_page(staff).status_code == 303


def test_one_address_is_rate_limited_across_accounts(
    db_session: Session, make_staff: Fixture, sign_in_page: Fixture
) -> None:
    staffs = [make_staff(f"user{number}", ["clerk"]) for number in range(8)]
    statuses = [
        sign_in_page(staffs[attempt % 8], password="not the password").status_code
        for attempt in range(31)
    ]
    assert statuses[:30] == [401] * 30
    assert statuses[30] == 429
    assert (_events(db_session, "staff.sign_in")[-1].details or {}).get("reason") == "rate-limited"


def test_a_disabled_account_cannot_sign_in_and_loses_its_sessions(
    client: TestClient, db_session: Session, make_staff: Fixture, sign_in_page: Fixture
) -> None:
    staff = make_staff("tanaka", ["clerk"])
    assert sign_in_page(staff).status_code == 303
    StaffService(db_session, CHIYODA).disable(staff.account.staff_id)
    assert client.get("/staff", follow_redirects=False).status_code == 303
    client.cookies.delete(SESSION_COOKIE)
    assert sign_in_page(staff, code=staff.code(1)).status_code == 401


def test_idle_and_absolute_timeouts_end_a_staff_session(
    client: TestClient, db_session: Session, make_staff: Fixture, sign_in_page: Fixture
) -> None:
    staff = make_staff("tanaka", ["clerk"])
    assert sign_in_page(staff).status_code == 303
    row = _session_row(db_session, staff.account.staff_id)
    assert row.expires_at - row.created_at == timedelta(hours=8)
    assert row.idle_expires_at - row.created_at == timedelta(minutes=15)
    assert client.get("/staff").status_code == 200

    row.idle_expires_at = datetime.now(UTC) - timedelta(seconds=1)
    db_session.flush()
    idle = client.get("/staff", follow_redirects=False)
    assert idle.status_code == 303
    assert idle.headers["location"].startswith("/signin?next=")

    row.idle_expires_at = datetime.now(UTC) + timedelta(minutes=10)
    row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    db_session.flush()
    assert client.get("/staff", follow_redirects=False).status_code == 303


def test_next_must_be_a_local_path(make_staff: Fixture, post_form: Fixture) -> None:
    staff = make_staff("tanaka", ["clerk"])
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        response = post_form(
            "/staff/signin",
            {
                "tenant_code": CHIYODA,
                "login_id": "tanaka",
                "password": staff.password,
                "code": staff.code(),
                "next": target,
            },
        )
        assert response.headers["location"] == "/staff"
        staff.account.totp_last_step = None  # let the same code sign in again


def test_an_admin_manages_the_tenants_staff(
    client: TestClient,
    db_session: Session,
    make_staff: Fixture,
    sign_in_page: Fixture,
    post_form: Fixture,
) -> None:
    admin = make_staff("admin", ["admin"])
    assert sign_in_page(admin).status_code == 303
    listing = client.get(f"/tenants/{CHIYODA}/staff")
    assert listing.status_code == 200
    assert "admin" in listing.text

    bad = post_form(f"/tenants/{CHIYODA}/staff", {"login_id": "x", "name": "佐藤", "roles": []})
    assert bad.status_code == 422
    created = post_form(
        f"/tenants/{CHIYODA}/staff",
        {"login_id": "sato", "name": "佐藤 花子", "roles": ["clerk", "auditor"]},
    )
    assert created.status_code == 201
    password = re.search(r'<p class="code" id="password"><strong>([^<]+)</strong>', created.text)
    assert password is not None
    sato = StaffService(db_session, CHIYODA).by_login_id("sato")
    assert sato.roles == "auditor clerk"
    assert sato.password_must_change

    roles = post_form(f"/tenants/{CHIYODA}/staff/{sato.staff_id}/roles", {"roles": ["supervisor"]})
    assert roles.status_code == 303
    db_session.refresh(sato)
    assert sato.roles == "supervisor"
    # An admin cannot lock themselves out.
    own = post_form(f"/tenants/{CHIYODA}/staff/{admin.account.staff_id}/disable", {})
    assert own.status_code == 409
    assert post_form(f"/tenants/{CHIYODA}/staff/{sato.staff_id}/disable", {}).status_code == 303
    db_session.refresh(sato)
    assert sato.disabled_at is not None
    actions = [event.action for event in db_session.scalars(select(AuditEvent))]
    assert {"staff.create", "staff.roles", "staff.disable"} <= set(actions)


def test_a_clerk_cannot_manage_staff(
    client: TestClient, make_staff: Fixture, sign_in_page: Fixture, post_form: Fixture
) -> None:
    clerk = make_staff("clerk", ["clerk", "supervisor"])
    assert sign_in_page(clerk).status_code == 303
    assert client.get(f"/tenants/{CHIYODA}/staff").status_code == 403
    created = post_form(
        f"/tenants/{CHIYODA}/staff", {"login_id": "sato", "name": "佐藤", "roles": ["admin"]}
    )
    assert created.status_code == 403


def test_an_auditor_reads_but_cannot_write_resident_records(
    client: TestClient, make_staff: Fixture, sign_in_page: Fixture
) -> None:
    auditor = make_staff("auditor", ["auditor"])
    assert sign_in_page(auditor).status_code == 303
    read = client.get(f"/tenants/{CHIYODA}/residents", params={"kana": "ヤマダ"})
    assert read.status_code == 200
    write = client.post(f"/tenants/{CHIYODA}/residents/births", json={})
    assert write.status_code == 403
