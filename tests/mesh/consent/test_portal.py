"""The resident grants, declines and withdraws consents through the real pages."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from conftest import PostForm, SignIn
from kiban.core.audit import AuditEvent
from kiban.mesh.consent.models import MeshConsent
from kiban.mesh.consent.service import ConsentService
from mesh.consent.consent_support import (
    BANK,
    CHIYODA,
    HANAKO,
    TARO,
    Gateways,
    asked,
    field_errors,
    grant,
    payload_of,
    post_use,
    sign_in_resident,
    signed_use,
    use,
)

LIST = "/me/consents"
PERSON = f"resident:131016:{HANAKO}"


def _grant_through_the_page(client: TestClient, post_form: PostForm, **changes: Any) -> str:
    """Open the consumer's link, then press 同意する; the consent's number."""
    page = client.get("/me/consents/new", params=payload_of(asked(**changes)))
    assert page.status_code == 200, page.text
    granted = post_form(LIST, {**payload_of(asked(**changes)), "decision": "grant"})
    assert granted.status_code == 303, granted.text
    location = granted.headers["location"]
    found = re.fullmatch(rf"{LIST}/([0-9a-f-]{{36}})\?granted=1", location)
    assert found, location
    return found.group(1)


def _events(db_session: Session, action: str) -> list[AuditEvent]:
    return list(db_session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_a_resident_grants_a_consent_and_is_given_its_number(
    client: TestClient, db_session: Session, post_form: PostForm, consent_mesh: None, hanako: None
) -> None:
    consent_id = _grant_through_the_page(client, post_form)
    stored = db_session.get(MeshConsent, consent_id)
    assert stored is not None
    assert (stored.tenant_code, stored.addressee_number) == ("131016", HANAKO)
    assert (stored.consumer, stored.purpose, stored.kind) == (BANK, "loan-screening", "periodic")
    assert stored.operations == ["GET /residents/{addressee_number}/certificate"]
    assert stored.explanation == "住宅ローンの審査のため、住所と氏名を確認します。"

    shown = client.get(f"{LIST}/{consent_id}?granted=1")
    assert shown.status_code == 200
    html = shown.text
    assert "同意しました。下の同意番号を株式会社さくら銀行にお伝えください。" in html
    assert consent_id.replace("-", "-<wbr>") in html  # breaks on a phone, copies whole
    assert 'href="/me/data-uses"' in html
    assert "同意を取り消す" in html
    # No way back to the consumer's site: the page links only within kiban.
    main = html[html.index("<main") : html.index("</main>")]
    assert not re.search(r'(href|action)="(https?:)?//', main)

    [event] = _events(db_session, "mesh.consent.grant")
    assert (event.actor, event.subject, event.tenant_code) == (PERSON, PERSON, "131016")
    assert event.details is not None
    assert event.details["consent"] == consent_id
    assert event.details["consumer"] == str(BANK)
    assert HANAKO not in str(event.details)


def test_the_list_shows_consents_in_force_and_those_that_ended(
    client: TestClient, db_session: Session, consent_mesh: None, hanako: None
) -> None:
    holding = grant(db_session, items="*")
    spent = grant(db_session, kind="one-time")
    ConsentService(db_session).revoke(spent, actor="operator", reason="裁判所の命令")
    expired = grant(
        db_session,
        now=datetime.now(UTC) - timedelta(days=40),
        until=(datetime.now(UTC) - timedelta(days=5)).date().isoformat(),
    )
    others = grant(db_session, addressee_number=TARO)  # 太郎's
    html = client.get(LIST).text
    in_force = html[html.index('id="holding"') : html.index('id="ended"')]
    ended = html[html.index('id="ended"') :]
    assert holding in in_force
    assert f'action="/me/consents/{holding}/revoke"' in in_force
    assert spent in ended
    assert expired in ended
    assert "取り消し済み" in ended
    assert "期限切れ" in ended
    assert "/revoke" not in ended  # only what holds can be withdrawn
    assert others not in html
    assert 'href="/me/data-uses"' in html


def test_a_resident_withdraws_a_consent_and_the_next_request_is_refused(
    client: TestClient,
    db_session: Session,
    post_form: PostForm,
    provider_gateways: Gateways,
    hanako: None,
) -> None:
    consent_id = _grant_through_the_page(client, post_form)
    gateway = provider_gateways[CHIYODA]
    assert post_use(client, signed_use(gateway, use(consent_id))).status_code == 200

    withdrawn = post_form(f"{LIST}/{consent_id}/revoke", {})
    assert withdrawn.status_code == 303
    assert withdrawn.headers["location"] == f"{LIST}?revoked=1"
    assert "同意を取り消しました。" in client.get(withdrawn.headers["location"]).text

    refused = post_use(client, signed_use(gateway, use(consent_id)))
    assert refused.status_code == 403
    assert refused.json()["detail"] == "the consent has been revoked"
    [event] = _events(db_session, "mesh.consent.revoke")
    assert (event.actor, event.subject, event.details) == (PERSON, PERSON, {"consent": consent_id})
    detail = client.get(f"{LIST}/{consent_id}").text
    assert "取り消し済み" in detail
    assert "/revoke" not in detail


def test_declining_grants_nothing(
    client: TestClient, db_session: Session, post_form: PostForm, consent_mesh: None, hanako: None
) -> None:
    declined = post_form(LIST, {**payload_of(asked()), "decision": "decline"})
    assert declined.status_code == 303
    assert declined.headers["location"] == f"{LIST}?declined=1"
    assert "同意しませんでした。" in client.get(declined.headers["location"]).text
    assert db_session.scalars(select(MeshConsent)).all() == []


def test_a_form_sent_back_altered_is_checked_again(
    client: TestClient, db_session: Session, post_form: PostForm, consent_mesh: None, hanako: None
) -> None:
    altered = post_form(LIST, {**payload_of(asked(until="2099-01-01")), "decision": "grant"})
    assert altered.status_code == 400
    assert field_errors(altered.text) == ["until"]
    assert db_session.scalars(select(MeshConsent)).all() == []


def test_a_form_without_its_token_is_refused(
    client: TestClient, db_session: Session, consent_mesh: None, hanako: None
) -> None:
    forged = client.post(
        LIST, data={**payload_of(asked()), "decision": "grant"}, follow_redirects=False
    )
    assert forged.status_code == 403
    assert db_session.scalars(select(MeshConsent)).all() == []


def test_another_persons_consent_is_not_found(
    client: TestClient,
    db_session: Session,
    post_form: PostForm,
    consent_mesh: None,
    sign_in: SignIn,
) -> None:
    of_taro = grant(db_session, addressee_number=TARO)
    sign_in_resident(sign_in)
    assert client.get(f"{LIST}/{of_taro}").status_code == 404
    assert post_form(f"{LIST}/{of_taro}/revoke", {}).status_code == 404
    stored = db_session.get(MeshConsent, of_taro)
    assert stored is not None
    assert stored.revoked_at is None


@pytest.mark.parametrize("path", [LIST, f"{LIST}/4f5d3d0c-0000-4000-8000-000000000000"])
def test_only_a_signed_in_resident_sees_their_consents(client: TestClient, path: str) -> None:
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/signin?next=")


def test_a_bad_consent_number_is_an_html_page(client: TestClient, hanako: None) -> None:
    response = client.get(f"{LIST}/not-a-number")
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    assert "Traceback" not in response.text
