"""A sample relying party, for the demo: a service that signs people in with kiban.

It plays the part of another organisation's system and so talks to the provider only as any
relying party would: over HTTP at ``Settings.public_url``, with PKCE, ``state`` and ``nonce``,
a client secret, the ID token checked against the published JWKS, and the userinfo endpoint.
It lives in the same application only so that the demo needs one process.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

import httpx2
from fastapi import APIRouter, Cookie, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy.orm import Session
from starlette.responses import Response

from kiban.core.access import PublicAccess
from kiban.core.config import Settings
from kiban.core.crypto import secret_key
from kiban.identity.oidc.authorization import s256
from kiban.identity.oidc.clients import ClientInput, ClientService, secret_sha256
from kiban.identity.oidc.repository import OidcRepository
from kiban.web.templating import templates

DEMO_CLIENT_ID = "kiban-demo-relying-party"
BASE_PATH = "/demo/relying-party"
_COOKIE = "kiban_demo_rp"
_SCOPE = "openid name address birthdate gender"
_CLAIM_LABELS = {
    "sub": ("利用者識別子（このサービス専用）", "Subject identifier (for this service only)"),
    "name": ("氏名", "Name"),
    "name#ja-Kana-JP": ("氏名（フリガナ）", "Name (reading)"),
    "address": ("住所", "Address"),
    "birthdate": ("生年月日", "Date of birth"),
    "gender": ("性別", "Gender"),
    "acr": ("認証の強度", "Authentication level"),
    "amr": ("認証方法", "Authentication methods"),
}

router = APIRouter(
    prefix=BASE_PATH,
    dependencies=[PublicAccess],
    include_in_schema=False,
    default_response_class=HTMLResponse,
)


def demo_client_secret(settings: Settings) -> str:
    """Derived from the secret key, so the demo client survives restarts without storing it."""
    mac = hmac.new(secret_key(settings), b"kiban/demo/relying-party/v1", hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode("ascii")


def _callback(settings: Settings) -> str:
    return settings.public_url.rstrip("/") + BASE_PATH + "/callback"


def register_demo_client(session: Session, settings: Settings) -> None:
    """Register (or bring up to date) the sample relying party; for ``kiban seed --demo``."""
    secret = demo_client_secret(settings)
    existing = OidcRepository(session).client(DEMO_CLIENT_ID)
    if existing is not None:
        # The public URL may have changed since the last seed.
        existing.redirect_uris = _callback(settings)
        existing.post_logout_redirect_uris = settings.public_url.rstrip("/") + BASE_PATH + "/"
        existing.secret_sha256 = secret_sha256(secret)
        existing.disabled_at = None
        session.flush()
        return
    ClientService(session).create(
        ClientInput(
            name="デモ市 子育て支援ポータル（サンプル） / Demo city childcare portal (sample)",
            purpose="申請書に氏名・住所・生年月日・性別を自動で記入するため（デモ）"
            " / To fill in your name, address, date of birth and gender on forms (demo)",
            redirect_uris=[_callback(settings)],
            auth_method="client_secret_basic",
            post_logout_redirect_uris=[settings.public_url.rstrip("/") + BASE_PATH + "/"],
            scopes=["name", "address", "birthdate", "gender"],
        ),
        client_id=DEMO_CLIENT_ID,
        secret=secret,
    )


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _page(request: Request, status_code: int = 200, **context: Any) -> Response:
    return templates.TemplateResponse(
        request, "oidc/demo_relying_party.html", context, status_code=status_code
    )


@router.get("/")
def home(request: Request) -> Response:
    """The sample service's start page, with its sign-in button."""
    return _page(request)


@router.get("/login")
def login(request: Request) -> Response:
    """Start a sign-in: PKCE, state and nonce, kept in a cookie for the callback."""
    settings = _settings(request)
    verifier = secrets.token_urlsafe(48)
    state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    query = urlencode(
        {
            "response_type": "code",
            "client_id": DEMO_CLIENT_ID,
            "redirect_uri": _callback(settings),
            "scope": _SCOPE,
            "state": state,
            "nonce": nonce,
            "code_challenge": s256(verifier),
            "code_challenge_method": "S256",
        }
    )
    response = RedirectResponse(
        f"{settings.public_url.rstrip('/')}/oidc/authorize?{query}", status_code=303
    )
    response.set_cookie(
        _COOKIE,
        json.dumps({"state": state, "nonce": nonce, "verifier": verifier}),
        max_age=600,
        path=BASE_PATH,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
    )
    return response


class _SignInFailed(Exception):
    pass


def _exchange(settings: Settings, code: str, verifier: str, nonce: str) -> dict[str, Any]:
    """Code → tokens → checked ID token → userinfo, over HTTP like any relying party."""
    issuer = settings.public_url.rstrip("/")
    with httpx2.Client(timeout=10) as http:
        metadata = http.get(issuer + "/.well-known/openid-configuration").json()
        token_response = http.post(
            metadata["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": _callback(settings),
                "code_verifier": verifier,
            },
            auth=(DEMO_CLIENT_ID, demo_client_secret(settings)),
        )
        if token_response.status_code != 200:
            raise _SignInFailed(token_response.json().get("error_description", "token error"))
        tokens = token_response.json()
        keys = KeySet.import_key_set(http.get(metadata["jwks_uri"]).json())
        try:
            id_token = jwt.decode(tokens["id_token"], keys, algorithms=["ES256"]).claims
        except JoseError as error:
            raise _SignInFailed(f"ID token signature: {error}") from None
        now = datetime.now(UTC).timestamp()
        if (
            id_token.get("iss") != issuer
            or id_token.get("aud") != DEMO_CLIENT_ID
            or id_token.get("nonce") != nonce
            or id_token.get("exp", 0) <= now
        ):
            raise _SignInFailed("the ID token is not for this sign-in")
        userinfo = http.get(
            metadata["userinfo_endpoint"],
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
        ).json()
    return {"id_token": id_token, "userinfo": userinfo}


def _rows(result: dict[str, Any]) -> list[tuple[str, str, str]]:
    userinfo, id_token = result["userinfo"], result["id_token"]
    values = {
        **{name: userinfo.get(name) for name in _CLAIM_LABELS},
        "acr": id_token.get("acr"),
        "amr": " ".join(id_token.get("amr", [])),
    }
    if isinstance(values["address"], dict):
        values["address"] = values["address"].get("formatted")
    gender = {"female": "女性 / female", "male": "男性 / male"}
    values["gender"] = gender.get(str(values["gender"]), values["gender"])
    return [
        (label_ja, label_en, str(values[name]))
        for name, (label_ja, label_en) in _CLAIM_LABELS.items()
        if values.get(name)
    ]


@router.get("/callback")
def callback(
    request: Request,
    state: str | None = None,
    code: str | None = None,
    error: str | None = None,
    kept: Annotated[str | None, Cookie(alias=_COOKIE)] = None,
) -> Response:
    """Where kiban sends the person back: show what was released, or why nothing was."""
    try:
        remembered = json.loads(kept) if kept else {}
    except json.JSONDecodeError:
        remembered = {}
    if not remembered or not state or not hmac.compare_digest(state, remembered.get("state", "")):
        return _page(request, 400, failure="state が一致しません / The state does not match")
    if error or not code:
        reason = "同意されませんでした / Consent was refused" if error == "access_denied" else error
        return _page(request, 400, failure=reason or "code がありません / No code")
    try:
        result = _exchange(_settings(request), code, remembered["verifier"], remembered["nonce"])
    except (_SignInFailed, httpx2.HTTPError, KeyError, ValueError) as failure:
        return _page(request, 502, failure=str(failure))
    response = _page(request, rows=_rows(result))
    response.delete_cookie(_COOKIE, path=BASE_PATH)
    return response
