"""Business ID accounts sign in to relying parties too: scope ``profile`` releases the
business profile and the assurance level, and residents' scopes mean nothing for them."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from identity.oidc.provider_support import RP_CALLBACK, TESTSERVER, register
from identity.oidc.relying_party import RelyingParty, authorize
from kiban.core.config import Settings
from kiban.core.sessions import SESSION_COOKIE, SubjectKind, start_session
from kiban.identity.business.models import BusinessAccount, DisabledReason
from kiban.identity.business.service import BusinessService
from kiban.registry.corporations.models import Corporation
from kiban.registry.corporations.synthetic import generate_corporations
from kiban.residents.models import Resident

PASSWORD = "correct horse battery staple"


def _sign_in(client: TestClient, db_session: Session, settings: Settings, account_id: str) -> None:
    """The account's browser, signed in with password + TOTP."""
    response = Response()
    start_session(
        db_session,
        response,
        kind=SubjectKind.BUSINESS,
        subject_id=account_id,
        acr="aal2",
        amr=["pwd", "otp"],
        settings=settings,
    )
    client.cookies.set(SESSION_COOKIE, response.headers["set-cookie"].split(";")[0].split("=")[1])


def _profile(client: TestClient, db_session: Session, account_id: str) -> dict[str, Any]:
    """What a relying party asking for ``openid profile name`` gets: the userinfo claims."""
    client_id, secret = register(db_session, scopes=["profile", "name"])
    rp = RelyingParty(client, TESTSERVER, client_id, RP_CALLBACK, secret=secret)
    attempt = rp.start(scope="openid profile name")
    response = authorize(client, attempt.url)
    assert response.status_code == 303, response.text
    code = rp.code_from(attempt, response.headers["location"])
    issued = rp.token_request(code, attempt.verifier).json()
    claims = rp.validate_id_token(issued["id_token"], nonce=attempt.nonce)
    assert (claims["acr"], claims["amr"]) == ("aal2", ["pwd", "otp"])
    assert account_id not in claims["sub"]  # pairwise, like residents'
    userinfo: dict[str, Any] = rp.userinfo(issued["access_token"]).json()
    assert userinfo.pop("sub") == claims["sub"]
    return userinfo


def _sole_proprietor(db_session: Session, login_id: str, name: str) -> BusinessAccount:
    return BusinessService(db_session).register_entry(
        login_id=login_id,
        password=PASSWORD,
        name=name,
        corp_type="sole_proprietor",
        corporate_number=None,
    )


def test_an_entry_account_releases_its_profile_at_ial1(
    client: TestClient, db_session: Session, settings: Settings
) -> None:
    account = _sole_proprietor(db_session, "yamada.shop@example.jp", "山田 太郎")
    _sign_in(client, db_session, settings, account.account_id)
    # A sole proprietor without a 法人番号 has no corporate number or registered address: the
    # claims are left out, not null (OpenID Connect Core §5.3.2). The resident scope `name`
    # means nothing for a business account.
    assert _profile(client, db_session, account.account_id) == {
        "account_type": "entry",
        "corp_type": "sole_proprietor",
        "name": "山田 太郎",
        "ial": "ial1",
    }


def test_a_prime_account_releases_its_company_at_ial2(
    client: TestClient, db_session: Session, settings: Settings, resident: Resident
) -> None:
    generate_corporations(db_session, ["131016"], 1, seed=7)
    company = db_session.scalars(select(Corporation).where(Corporation.lg_code == "131016")).first()
    assert company is not None
    account = BusinessService(db_session).create_prime(
        f"{resident.tenant_code}:{resident.addressee_number}",
        company.number,
        "hanako.yamada@example.co.jp",
        PASSWORD,
    )
    _sign_in(client, db_session, settings, account.account_id)
    userinfo = _profile(client, db_session, account.account_id)
    assert userinfo["account_type"] == "prime"
    assert userinfo["ial"] == "ial2"
    assert userinfo["corporate_number"] == company.number
    assert userinfo["name"] == "山田 花子"  # the representative, from their resident record
    assert userinfo["address"]["formatted"].startswith("東京都千代田区")


def test_a_disabled_account_keeps_nothing_it_was_given(
    client: TestClient, db_session: Session, settings: Settings
) -> None:
    service = BusinessService(db_session)
    account = _sole_proprietor(db_session, "closed.shop@example.jp", "田中 一郎")
    _sign_in(client, db_session, settings, account.account_id)
    client_id, secret = register(db_session, scopes=["profile"])
    rp = RelyingParty(client, TESTSERVER, client_id, RP_CALLBACK, secret=secret)
    attempt = rp.start(scope="openid profile")
    code = rp.code_from(attempt, authorize(client, attempt.url).headers["location"])
    issued = rp.token_request(code, attempt.verifier).json()

    service.disable(account, DisabledReason.OPERATOR, actor="operator")

    # Neither the access token nor the refresh token still speaks for the account.
    userinfo = rp.userinfo(issued["access_token"])
    assert userinfo.status_code == 401
    refreshed = rp.refresh_request(issued["refresh_token"])
    assert refreshed.status_code == 400
    assert refreshed.json()["error"] == "invalid_grant"
    # The whole grant is revoked: re-enabling the account does not bring it back.
    service.enable(account, actor="operator")
    assert rp.refresh_request(issued["refresh_token"]).status_code == 400
