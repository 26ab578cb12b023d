"""Interoperability: a relying party made of other libraries, against kiban served by uvicorn.

oauthlib builds the requests, PyJWT signs the client assertion and checks the ID token with
PyJWKClient, which fetches the JWKS itself over the network; the person's browser is an httpx2
client holding kiban's session and CSRF cookies.  Nothing here runs in the provider's process.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx2
import jwt
import pytest

from identity.oidc.provider_support import RP_CALLBACK, LiveProvider
from identity.oidc.relying_party import RelyingParty, authorize, es256_key
from kiban.core.sessions import SESSION_COOKIE
from kiban.demo.relying_party import register_demo_client


@pytest.fixture
def browser(live_provider: LiveProvider) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=live_provider.url, timeout=10) as browser:
        browser.cookies.set(SESSION_COOKIE, live_provider.sign_in())
        yield browser


@pytest.fixture
def back_channel() -> Iterator[httpx2.Client]:
    with httpx2.Client(timeout=10) as client:
        yield client


def _sign_in(rp: RelyingParty, browser: httpx2.Client, scope: str) -> dict[str, object]:
    attempt = rp.start(scope=scope)
    callback = authorize(browser, attempt.url)
    assert callback.status_code == 303, callback.text
    code = rp.code_from(attempt, callback.headers["location"])
    response = rp.token_request(code, attempt.verifier)
    assert response.status_code == 200, response.text
    issued: dict[str, object] = response.json()
    signing_key = jwt.PyJWKClient(rp.metadata["jwks_uri"]).get_signing_key_from_jwt(
        str(issued["id_token"])
    )
    claims = rp.validate_id_token(str(issued["id_token"]), nonce=attempt.nonce, key=signing_key)
    assert claims["acr"] == "aal3"
    assert claims["amr"] == ["swk", "pin"]
    return {**issued, "claims": claims}


def test_private_key_jwt_code_pkce_userinfo_and_refresh(
    live_provider: LiveProvider, browser: httpx2.Client, back_channel: httpx2.Client
) -> None:
    private_key, jwk = es256_key()
    client_id, _ = live_provider.register(
        auth_method="private_key_jwt", jwks=json.dumps({"keys": [jwk]})
    )
    rp = RelyingParty(
        back_channel,
        live_provider.url,
        client_id,
        RP_CALLBACK,
        private_key=private_key,
        kid=jwk["kid"],
    )
    issued = _sign_in(rp, browser, "openid name address birthdate gender")

    userinfo = rp.userinfo(str(issued["access_token"]))
    assert userinfo.status_code == 200
    claims = userinfo.json()
    assert claims["sub"] == issued["claims"]["sub"]  # type: ignore[index]
    assert claims["family_name"] == "比嘉"
    assert claims["address"]["region"] == "沖縄県"
    assert claims["address"]["locality"] == "那覇市"
    assert claims["birthdate"] == "1980-05-01"

    refreshed = rp.refresh_request(str(issued["refresh_token"]))
    assert refreshed.status_code == 200, refreshed.text
    renewed = refreshed.json()
    assert rp.userinfo(renewed["access_token"]).json()["sub"] == claims["sub"]
    # Rotation: the used refresh token is spent.
    assert rp.refresh_request(str(issued["refresh_token"])).json()["error"] == "invalid_grant"


def test_client_secret_basic_round_trip(
    live_provider: LiveProvider, browser: httpx2.Client, back_channel: httpx2.Client
) -> None:
    client_id, secret = live_provider.register(scopes=["name"])
    rp = RelyingParty(back_channel, live_provider.url, client_id, RP_CALLBACK, secret=secret)
    issued = _sign_in(rp, browser, "openid name")
    userinfo = rp.userinfo(str(issued["access_token"])).json()
    assert userinfo["name"] == "比嘉 花子"
    assert "address" not in userinfo
    assert rp.refresh_request(str(issued["refresh_token"])).status_code == 200


def test_the_sample_relying_party_shows_the_released_claims(
    live_provider: LiveProvider, browser: httpx2.Client
) -> None:
    with live_provider.session() as session:
        register_demo_client(session, live_provider.settings)
        register_demo_client(session, live_provider.settings)  # idempotent
        session.commit()
    start = browser.get("/demo/relying-party/login", follow_redirects=False)
    callback = authorize(browser, start.headers["location"])
    assert callback.status_code == 303, callback.text
    page = browser.get(callback.headers["location"])
    assert page.status_code == 200, page.text
    assert "比嘉 花子" in page.text
    assert "沖縄県那覇市港町一丁目1-3" in page.text
    assert "aal3" in page.text
