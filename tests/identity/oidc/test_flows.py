"""The provider through the test client: flows, consent, and each refusal in its own test.

The relying party is oauthlib + PyJWT (``relying_party.py``); the provider's own code is never
used to check what the provider says.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import jwt
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from identity.oidc.provider_support import RP_CALLBACK, RP_LOGGED_OUT, TESTSERVER, register
from identity.oidc.relying_party import Attempt, RelyingParty, authorize, es256_key, query_of
from kiban.core.audit import AuditEvent
from kiban.core.config import Settings
from kiban.core.sessions import AuthSession
from kiban.identity.oidc.authorization import code_sha256
from kiban.identity.oidc.client_auth import ASSERTION_TYPE, CLOCK_SKEW, ClientAuthenticator
from kiban.identity.oidc.clients import ClientService, secret_sha256
from kiban.identity.oidc.errors import OAuthError
from kiban.identity.oidc.keys import SigningKeys
from kiban.identity.oidc.models import OidcAuthorizationCode, OidcClient
from kiban.identity.oidc.repository import OidcRepository
from kiban.residents.models import Resident

NewRelyingParty = Callable[..., RelyingParty]


@pytest.fixture
def new_rp(db_session: Session, client: TestClient) -> NewRelyingParty:
    """Registers a relying party and returns it, speaking to the provider through ``client``."""

    def build(auth_method: str = "client_secret_basic", **options: object) -> RelyingParty:
        private_key, jwk = es256_key()
        jwks = json.dumps({"keys": [jwk]}) if auth_method == "private_key_jwt" else None
        client_id, secret = register(
            db_session,
            auth_method=auth_method,
            jwks=jwks,
            **options,  # type: ignore[arg-type]
        )
        return RelyingParty(
            client,
            TESTSERVER,
            client_id,
            RP_CALLBACK,
            secret=secret,
            private_key=private_key if jwks else None,
            kid=jwk["kid"] if jwks else None,
        )

    return build


def signed_in_code(rp: RelyingParty, browser: TestClient, **start: str) -> tuple[Attempt, str]:
    attempt = rp.start(**start)
    response = authorize(browser, attempt.url)
    assert response.status_code == 303, response.text
    return attempt, rp.code_from(attempt, response.headers["location"])


def tokens(rp: RelyingParty, browser: TestClient) -> tuple[Attempt, dict[str, str]]:
    attempt, code = signed_in_code(rp, browser)
    response = rp.token_request(code, attempt.verifier)
    assert response.status_code == 200, response.text
    return attempt, response.json()


def test_code_flow_releases_the_consented_claims(
    new_rp: NewRelyingParty, resident_browser: TestClient, resident: Resident
) -> None:
    rp = new_rp()
    attempt, issued = tokens(rp, resident_browser)
    assert issued["token_type"] == "Bearer"
    claims = rp.validate_id_token(issued["id_token"], nonce=attempt.nonce)
    assert claims["acr"] == "aal3"
    assert claims["amr"] == ["swk", "pin"]
    assert "at_hash" in claims
    # The subject is opaque: neither the 宛名番号 nor the 住民票コード shows through.
    assert resident.addressee_number not in claims["sub"]
    assert resident.resident_record_code not in claims["sub"]

    userinfo = rp.userinfo(issued["access_token"])
    assert userinfo.status_code == 200
    assert userinfo.json() == {
        "sub": claims["sub"],
        "name": "山田 花子",
        "family_name": "山田",
        "given_name": "花子",
        "name#ja-Kana-JP": "ヤマダ ハナコ",
        "family_name#ja-Kana-JP": "ヤマダ",
        "given_name#ja-Kana-JP": "ハナコ",
        "address": {
            "formatted": "東京都千代田区霞が関一丁目1-3",
            "region": "東京都",
            "locality": "千代田区",
            "street_address": "霞が関一丁目1-3",
            "country": "JP",
        },
        "birthdate": "1980-05-01",
        "gender": "female",
    }


def test_only_the_granted_scopes_are_released(
    new_rp: NewRelyingParty, resident_browser: TestClient
) -> None:
    rp = new_rp()
    attempt, code = signed_in_code(rp, resident_browser, scope="openid birthdate")
    issued = rp.token_request(code, attempt.verifier).json()
    userinfo = rp.userinfo(issued["access_token"]).json()
    assert set(userinfo) == {"sub", "birthdate"}


def test_the_subject_is_pairwise_and_stable(
    new_rp: NewRelyingParty, resident_browser: TestClient
) -> None:
    first, second = new_rp(), new_rp()
    sub_first = first.validate_id_token(
        (issued := tokens(first, resident_browser))[1]["id_token"], nonce=issued[0].nonce
    )["sub"]
    again = tokens(first, resident_browser)
    assert first.validate_id_token(again[1]["id_token"], nonce=again[0].nonce)["sub"] == sub_first
    other = tokens(second, resident_browser)
    assert second.validate_id_token(other[1]["id_token"], nonce=other[0].nonce)["sub"] != sub_first


def test_private_key_jwt_and_refresh(new_rp: NewRelyingParty, resident_browser: TestClient) -> None:
    rp = new_rp("private_key_jwt")
    attempt, issued = tokens(rp, resident_browser)
    rp.validate_id_token(issued["id_token"], nonce=attempt.nonce)
    refreshed = rp.refresh_request(issued["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    renewed = refreshed.json()
    assert renewed["refresh_token"] != issued["refresh_token"]
    assert rp.userinfo(renewed["access_token"]).status_code == 200


def test_a_client_assertion_is_used_once(
    new_rp: NewRelyingParty, resident_browser: TestClient
) -> None:
    rp = new_rp("private_key_jwt")
    assertion = rp.client_assertion()
    attempt, code = signed_in_code(rp, resident_browser)
    assert rp.token_request(code, attempt.verifier, assertion=assertion).status_code == 200
    attempt, code = signed_in_code(rp, resident_browser)
    replay = rp.token_request(code, attempt.verifier, assertion=assertion)
    assert replay.status_code == 401
    assert replay.json()["error"] == "invalid_client"


def test_a_client_assertion_stays_spent_through_the_clock_skew_it_is_allowed(
    new_rp: NewRelyingParty, db_session: Session
) -> None:
    """An assertion is accepted until 30 s past its ``exp`` (clocks differ); its ``jti`` must
    be remembered at least that long, or it could be replayed in those 30 seconds."""
    rp = new_rp("private_key_jwt")
    assertion = rp.client_assertion()
    claims = jwt.decode(assertion, options={"verify_signature": False})
    expires_at = datetime.fromtimestamp(claims["exp"], UTC)
    authenticator = ClientAuthenticator(
        OidcRepository(db_session),
        issuer=rp.metadata["issuer"],
        token_endpoint=rp.metadata["token_endpoint"],
    )

    def present(at: datetime) -> None:
        authenticator.authenticate(None, None, ASSERTION_TYPE, assertion, now=at)

    present(expires_at - timedelta(seconds=1))
    with pytest.raises(OAuthError, match="already used"):
        present(expires_at + timedelta(seconds=CLOCK_SKEW - 1))


def test_a_client_assertion_for_another_audience_is_refused(
    new_rp: NewRelyingParty, resident_browser: TestClient
) -> None:
    rp = new_rp("private_key_jwt")
    attempt, code = signed_in_code(rp, resident_browser)
    wrong = rp.client_assertion(audience="https://other-provider.example/token")
    response = rp.token_request(code, attempt.verifier, assertion=wrong)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert "aud" in response.json()["error_description"]


def test_an_id_token_checked_for_another_client_fails(
    new_rp: NewRelyingParty, resident_browser: TestClient
) -> None:
    rp, other = new_rp(), new_rp()
    attempt, issued = tokens(rp, resident_browser)
    with pytest.raises(jwt.InvalidAudienceError):
        rp.validate_id_token(issued["id_token"], nonce=attempt.nonce, audience=other.client_id)


def test_a_tampered_id_token_fails_its_signature(
    new_rp: NewRelyingParty, resident_browser: TestClient
) -> None:
    rp = new_rp()
    attempt, issued = tokens(rp, resident_browser)
    header, payload, signature = issued["id_token"].split(".")
    claims = json.loads(jwt.utils.base64url_decode(payload))
    claims["sub"] = "someone-else"
    forged = jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()
    with pytest.raises(jwt.InvalidSignatureError):
        rp.validate_id_token(f"{header}.{forged}.{signature}", nonce=attempt.nonce)


def test_a_wrong_pkce_verifier_is_refused(
    new_rp: NewRelyingParty, resident_browser: TestClient
) -> None:
    rp = new_rp()
    _attempt, code = signed_in_code(rp, resident_browser)
    response = rp.token_request(code, rp.oauth.create_code_verifier(64))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert response.headers["cache-control"] == "no-store"


def test_plain_pkce_is_refused(new_rp: NewRelyingParty, resident_browser: TestClient) -> None:
    rp = new_rp()
    verifier = rp.oauth.create_code_verifier(64)
    url = rp.oauth.prepare_request_uri(
        rp.metadata["authorization_endpoint"],
        redirect_uri=RP_CALLBACK,
        scope=["openid"],
        state="s1",
        code_challenge=verifier,
        code_challenge_method="plain",
    )
    response = authorize(resident_browser, url)
    assert response.status_code == 303
    result = query_of(response.headers["location"])
    assert result["error"] == "invalid_request"
    assert result["state"] == "s1"
    assert "code" not in result


def test_a_missing_pkce_challenge_is_refused(
    new_rp: NewRelyingParty, resident_browser: TestClient
) -> None:
    rp = new_rp()
    url = rp.oauth.prepare_request_uri(
        rp.metadata["authorization_endpoint"], redirect_uri=RP_CALLBACK, scope=["openid"]
    )
    response = authorize(resident_browser, url)
    assert query_of(response.headers["location"])["error"] == "invalid_request"


def test_an_unregistered_redirect_uri_is_never_redirected_to(
    new_rp: NewRelyingParty, resident_browser: TestClient
) -> None:
    rp = new_rp()
    attempt = rp.start()
    url = attempt.url.replace("rp.example%2Fcallback", "evil.example%2Fcallback")
    response = resident_browser.get(url, headers={"Accept": "text/html"}, follow_redirects=False)
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "戻り先が登録されたものと一致しません" in response.text


def test_the_token_request_must_repeat_the_redirect_uri(
    new_rp: NewRelyingParty, resident_browser: TestClient
) -> None:
    rp = new_rp()
    attempt, code = signed_in_code(rp, resident_browser)
    response = rp.token_request(code, attempt.verifier, redirect_uri="https://rp.example/other")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_a_reused_code_is_refused_and_revokes_its_tokens(
    new_rp: NewRelyingParty, resident_browser: TestClient, db_session: Session
) -> None:
    rp = new_rp()
    attempt, code = signed_in_code(rp, resident_browser)
    issued = rp.token_request(code, attempt.verifier).json()
    assert rp.userinfo(issued["access_token"]).status_code == 200

    replay = rp.token_request(code, attempt.verifier)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    userinfo = rp.userinfo(issued["access_token"])
    assert userinfo.status_code == 401
    assert userinfo.json()["error"] == "invalid_token"
    assert 'error="invalid_token"' in userinfo.headers["www-authenticate"]
    assert rp.refresh_request(issued["refresh_token"]).json()["error"] == "invalid_grant"
    reasons = db_session.scalars(
        select(AuditEvent.details).where(
            AuditEvent.action == "oidc.token", AuditEvent.outcome == "failure"
        )
    ).all()
    assert {"client_id": rp.client_id, "reason": "code_reused"} in reasons


def test_a_code_presented_by_another_client_is_refused_and_not_spent(
    new_rp: NewRelyingParty, resident_browser: TestClient
) -> None:
    rp, other = new_rp(), new_rp()
    attempt, code = signed_in_code(rp, resident_browser)
    stolen = other.token_request(code, attempt.verifier)
    assert stolen.status_code == 400
    assert stolen.json()["error"] == "invalid_grant"
    # Another client cannot burn someone else's code: its owner still exchanges it.
    assert rp.token_request(code, attempt.verifier).status_code == 200


def test_an_expired_code_is_refused_and_spent(
    new_rp: NewRelyingParty, resident_browser: TestClient, db_session: Session
) -> None:
    rp = new_rp()
    attempt, code = signed_in_code(rp, resident_browser)
    db_session.execute(
        update(OidcAuthorizationCode)
        .where(OidcAuthorizationCode.client_id == rp.client_id)
        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    expired = rp.token_request(code, attempt.verifier)
    assert expired.status_code == 400
    assert "expired" in expired.json()["error_description"]
    again = rp.token_request(code, attempt.verifier)
    assert "already used" in again.json()["error_description"]


def test_a_wrong_pkce_verifier_spends_the_code(
    new_rp: NewRelyingParty, resident_browser: TestClient
) -> None:
    rp = new_rp()
    attempt, code = signed_in_code(rp, resident_browser)
    assert rp.token_request(code, rp.oauth.create_code_verifier(64)).status_code == 400
    # Guessing verifiers one request at a time is not possible: the code is gone.
    retry = rp.token_request(code, attempt.verifier)
    assert retry.status_code == 400
    assert "already used" in retry.json()["error_description"]


def limited(app: FastAPI, *, per_client: int, per_ip: int) -> None:
    """Give the running app other token-endpoint limits, as KIBAN_OIDC_TOKEN_LIMIT_* would."""
    app.state.settings = app.state.settings.model_copy(
        update={"oidc_token_limit_per_client": per_client, "oidc_token_limit_per_ip": per_ip}
    )


def test_the_token_endpoint_limits_each_client(
    new_rp: NewRelyingParty, resident_browser: TestClient, app: FastAPI
) -> None:
    limited(app, per_client=2, per_ip=100)
    rp, other = new_rp(), new_rp()
    for _ in range(2):
        attempt, code = signed_in_code(rp, resident_browser)
        assert rp.token_request(code, attempt.verifier).status_code == 200
    attempt, code = signed_in_code(rp, resident_browser)
    refused = rp.token_request(code, attempt.verifier)
    assert refused.status_code == 429
    assert refused.json()["error"] == "invalid_request"
    assert int(refused.headers["retry-after"]) >= 1
    # Another client is not held back.
    attempt_other, code_other = signed_in_code(other, resident_browser)
    assert other.token_request(code_other, attempt_other.verifier).status_code == 200
    # The refused request did not spend its code.
    limited(app, per_client=5000, per_ip=5000)
    assert rp.token_request(code, attempt.verifier).status_code == 200


def test_the_token_endpoint_limits_each_address_before_authenticating(
    new_rp: NewRelyingParty, resident_browser: TestClient, app: FastAPI
) -> None:
    limited(app, per_client=100, per_ip=2)
    rp = new_rp()
    attempt, code = signed_in_code(rp, resident_browser)
    rp.secret = "not-the-secret"
    for _ in range(2):
        assert rp.token_request(code, attempt.verifier).status_code == 401
    refused = rp.token_request(code, attempt.verifier)
    assert refused.status_code == 429
    assert "retry-after" in refused.headers


def test_a_reused_refresh_token_revokes_its_family(
    new_rp: NewRelyingParty, resident_browser: TestClient
) -> None:
    rp = new_rp()
    _attempt, issued = tokens(rp, resident_browser)
    renewed = rp.refresh_request(issued["refresh_token"]).json()
    reuse = rp.refresh_request(issued["refresh_token"])
    assert reuse.status_code == 400
    assert reuse.json()["error"] == "invalid_grant"
    # The thief's copy and the rightful new tokens end together: the family is revoked.
    assert rp.refresh_request(renewed["refresh_token"]).json()["error"] == "invalid_grant"
    assert rp.userinfo(renewed["access_token"]).status_code == 401


def test_a_wrong_client_secret_is_refused(
    new_rp: NewRelyingParty, resident_browser: TestClient
) -> None:
    rp = new_rp()
    attempt, code = signed_in_code(rp, resident_browser)
    rp.secret = "not-the-secret"
    response = rp.token_request(code, attempt.verifier)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["www-authenticate"].startswith("Basic")


def test_a_code_exchange_by_a_client_with_a_secret_is_one_statement_on_postgresql(
    new_rp: NewRelyingParty, resident_browser: TestClient, db_session: Session
) -> None:
    """Spending the code, checking the secret and writing the grant, tokens and audit event
    happen in one statement: with no transaction around it, one round trip to the database."""
    rp = new_rp()
    tokens(rp, resident_browser)  # the first exchange reads the client's secret hash once
    attempt, code = signed_in_code(rp, resident_browser)
    engine = db_session.get_bind().engine
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", record := _recorder(statements))
    try:
        response = rp.token_request(code, attempt.verifier)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert response.status_code == 200
    assert rp.userinfo(response.json()["access_token"]).status_code == 200
    if engine.dialect.name == "postgresql":
        assert len(statements) == 1, statements
    grant_events = db_session.scalars(
        select(AuditEvent.details).where(
            AuditEvent.action == "oidc.token", AuditEvent.outcome == "success"
        )
    ).all()
    assert len(grant_events) == 2
    assert all(set(details or {}) == {"client_id", "grant_id", "scope"} for details in grant_events)


def _recorder(statements: list[str]) -> Callable[..., None]:
    def record(_connection: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    return record


def test_a_client_disabled_after_its_secret_was_read_is_refused_at_once(
    new_rp: NewRelyingParty, resident_browser: TestClient, db_session: Session
) -> None:
    rp = new_rp()
    tokens(rp, resident_browser)  # the endpoint now knows the client's secret hash
    attempt, code = signed_in_code(rp, resident_browser)
    ClientService(db_session).disable(rp.client_id)
    refused = rp.token_request(code, attempt.verifier)
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_client"
    unspent = db_session.get(OidcAuthorizationCode, code_sha256(code))
    assert unspent is not None
    assert unspent.used_at is None


def test_a_secret_changed_after_it_was_read_holds_at_once(
    new_rp: NewRelyingParty, resident_browser: TestClient, db_session: Session
) -> None:
    rp = new_rp()
    tokens(rp, resident_browser)
    db_session.execute(
        update(OidcClient)
        .where(OidcClient.client_id == rp.client_id)
        .values(secret_sha256=secret_sha256("the-new-secret"))
    )
    attempt, code = signed_in_code(rp, resident_browser)
    assert rp.token_request(code, attempt.verifier).status_code == 401
    rp.secret = "the-new-secret"
    assert rp.token_request(code, attempt.verifier).status_code == 200


def test_a_token_parameter_sent_twice_is_refused_before_the_code_is_spent(
    new_rp: NewRelyingParty, resident_browser: TestClient
) -> None:
    rp = new_rp()
    attempt, code = signed_in_code(rp, resident_browser)
    valid = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": rp.redirect_uri,
        "code_verifier": attempt.verifier,
    }
    twice = urlencode([*valid.items(), ("code", "another")])
    refused = rp.http.post("/oidc/token", **rp._authenticated(twice))
    assert refused.status_code == 400
    assert refused.json() == {
        "error": "invalid_request",
        "error_description": "code must be sent once",
    }
    # A parameter sent empty counts as not sent (RFC 6749 §3.1).
    empty = rp.http.post("/oidc/token", **rp._authenticated(urlencode({**valid, "code": ""})))
    assert empty.json()["error"] == "invalid_request"
    assert rp.token_request(code, attempt.verifier).status_code == 200


def test_the_consent_screen_shows_who_what_and_why(
    new_rp: NewRelyingParty, resident_browser: TestClient
) -> None:
    rp = new_rp()
    page = resident_browser.get(rp.start(scope="openid name address").url)
    assert page.status_code == 200
    assert "デモ市 子育て支援サービス" in page.text
    assert "子育て支援の申請書に氏名と住所を記入するため" in page.text
    assert "氏名（漢字・フリガナ）" in page.text
    assert "住所" in page.text
    assert "生年月日" not in page.text
    assert 'name="csrf_token"' in page.text


def test_remembered_consent_skips_the_screen(
    new_rp: NewRelyingParty, resident_browser: TestClient
) -> None:
    rp = new_rp()
    signed_in_code(rp, resident_browser)  # consents on the screen
    again = resident_browser.get(rp.start().url, follow_redirects=False)
    assert again.status_code == 303
    assert "code" in query_of(again.headers["location"])
    # Asking for more than was agreed to shows the screen again.
    wider = new_rp()
    signed_in_code(wider, resident_browser, scope="openid birthdate")
    assert resident_browser.get(wider.start().url).status_code == 200


def test_refused_consent_tells_the_relying_party_access_denied(
    new_rp: NewRelyingParty, resident_browser: TestClient, db_session: Session
) -> None:
    rp = new_rp()
    attempt = rp.start()
    response = authorize(resident_browser, attempt.url, decision="deny")
    assert response.status_code == 303
    result = query_of(response.headers["location"])
    assert result["error"] == "access_denied"
    assert result["state"] == attempt.state
    assert result["iss"] == TESTSERVER
    assert db_session.scalars(
        select(AuditEvent).where(AuditEvent.action == "oidc.consent.refuse")
    ).all()


def test_the_consent_form_needs_its_csrf_token(
    new_rp: NewRelyingParty, resident_browser: TestClient
) -> None:
    rp = new_rp()
    attempt = rp.start()
    fields = dict(query_of(attempt.url), decision="allow", csrf_token="forged" * 8)
    response = resident_browser.post("/oidc/authorize", data=fields, follow_redirects=False)
    assert response.status_code == 403


def test_revoking_consent_stops_userinfo_and_refresh(
    new_rp: NewRelyingParty, resident_browser: TestClient
) -> None:
    rp = new_rp()
    _attempt, issued = tokens(rp, resident_browser)
    page = resident_browser.get("/account/consents")
    assert "デモ市 子育て支援サービス" in page.text
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    revoked = resident_browser.post(
        f"/account/consents/{rp.client_id}/revoke",
        data={"csrf_token": csrf},
        follow_redirects=True,
    )
    assert "同意を取り消しました" in revoked.text
    assert "デモ市 子育て支援サービス" not in revoked.text
    assert rp.userinfo(issued["access_token"]).status_code == 401
    assert rp.refresh_request(issued["refresh_token"]).json()["error"] == "invalid_grant"
    # The next sign-in asks again.
    assert resident_browser.get(rp.start().url).status_code == 200


def test_without_a_session_the_person_is_sent_to_sign_in(
    new_rp: NewRelyingParty, client: TestClient
) -> None:
    rp = new_rp()
    attempt = rp.start()
    response = client.get(attempt.url, headers={"Accept": "text/html"}, follow_redirects=False)
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith("/signin?next=%2Foidc%2Fauthorize%3F")


def test_prompt_none_without_a_session_is_login_required(
    new_rp: NewRelyingParty, client: TestClient
) -> None:
    rp = new_rp()
    response = client.get(rp.start(prompt="none").url, follow_redirects=False)
    assert query_of(response.headers["location"])["error"] == "login_required"


def test_discovery_and_jwks(client: TestClient) -> None:
    metadata = client.get("/.well-known/openid-configuration").json()
    assert metadata["issuer"] == TESTSERVER
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["id_token_signing_alg_values_supported"] == ["ES256"]
    assert set(metadata["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic",
        "private_key_jwt",
    }
    keys = client.get(metadata["jwks_uri"].removeprefix(TESTSERVER)).json()["keys"]
    assert keys
    assert all(key["kty"] == "EC" and "d" not in key for key in keys)


def test_rotated_keys_stay_published_and_new_tokens_use_the_new_one(
    new_rp: NewRelyingParty,
    resident_browser: TestClient,
    db_session: Session,
    settings: Settings,
) -> None:
    rp = new_rp()
    attempt, issued = tokens(rp, resident_browser)
    old_kid = jwt.get_unverified_header(issued["id_token"])["kid"]
    new_kid = SigningKeys(db_session, settings).create().kid
    published = {key["kid"] for key in rp.http.get("/oidc/jwks").json()["keys"]}
    assert {old_kid, new_kid} <= published
    rp.validate_id_token(issued["id_token"], nonce=attempt.nonce)  # still verifies
    _attempt, later = tokens(rp, resident_browser)
    assert jwt.get_unverified_header(later["id_token"])["kid"] == new_kid


def test_a_code_exchanged_after_a_rotation_is_signed_by_the_new_key(
    new_rp: NewRelyingParty,
    resident_browser: TestClient,
    db_session: Session,
    settings: Settings,
) -> None:
    rp = new_rp()
    tokens(rp, resident_browser)  # the first key, made on first use
    attempt, code = signed_in_code(rp, resident_browser)
    new_kid = SigningKeys(db_session, settings).create().kid
    issued = rp.token_request(code, attempt.verifier).json()
    assert jwt.get_unverified_header(issued["id_token"])["kid"] == new_kid
    rp.validate_id_token(issued["id_token"], nonce=attempt.nonce)


def test_rp_initiated_logout_ends_the_session(
    new_rp: NewRelyingParty, resident_browser: TestClient, db_session: Session
) -> None:
    rp = new_rp()
    _attempt, issued = tokens(rp, resident_browser)
    response = resident_browser.get(
        "/oidc/logout",
        params={
            "id_token_hint": issued["id_token"],
            "post_logout_redirect_uri": RP_LOGGED_OUT,
            "state": "bye",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == RP_LOGGED_OUT + "?state=bye"
    ended = db_session.scalars(select(AuthSession).where(AuthSession.ended_at.is_not(None)))
    assert ended.first() is not None
    # Signed out: the next authorization request goes to the sign-in page.
    again = resident_browser.get(rp.start().url, follow_redirects=False)
    assert again.headers["location"].startswith("/signin")


def test_logout_refuses_an_unregistered_return_address(
    new_rp: NewRelyingParty, resident_browser: TestClient
) -> None:
    rp = new_rp()
    _attempt, issued = tokens(rp, resident_browser)
    response = resident_browser.get(
        "/oidc/logout",
        params={
            "id_token_hint": issued["id_token"],
            "post_logout_redirect_uri": "https://evil.example/",
        },
        headers={"Accept": "text/html"},
        follow_redirects=False,
    )
    assert response.status_code == 400
    assert "location" not in response.headers
