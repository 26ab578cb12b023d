"""A relying party for the tests, built on OTHER libraries than the provider's own.

The provider uses joserfc; this relying party uses oauthlib (the authorization request, PKCE and
the token request body) and PyJWT (client assertions, ID token validation).  If both sides
agree, kiban speaks OpenID Connect, not merely "whatever its own library understands".
"""

from __future__ import annotations

import base64
import html
import os
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx2
import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from oauthlib.oauth2 import WebApplicationClient  # type: ignore[import-untyped]  # no stubs

# The tests reach the provider over plain HTTP on 127.0.0.1 and testserver; oauthlib
# refuses that unless told.
os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def es256_key() -> tuple[ec.EllipticCurvePrivateKey, dict[str, Any]]:
    """A client's key pair and its public JWK (with a kid), made with PyJWT."""
    private = ec.generate_private_key(ec.SECP256R1())
    jwk: dict[str, Any] = jwt.algorithms.ECAlgorithm.to_jwk(private.public_key(), as_dict=True)
    jwk.update({"kid": secrets.token_hex(4), "alg": "ES256", "use": "sig"})
    return private, jwk


@dataclass
class Attempt:
    """One authorization request: what the relying party keeps until the callback."""

    url: str
    state: str
    nonce: str
    verifier: str


@dataclass
class RelyingParty:
    http: httpx2.Client  # the "back channel": token and userinfo requests
    issuer: str
    client_id: str
    redirect_uri: str
    secret: str | None = None
    private_key: ec.EllipticCurvePrivateKey | None = None
    kid: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        response = self.http.get(self.issuer + "/.well-known/openid-configuration")
        response.raise_for_status()
        self.metadata = response.json()
        self.oauth = WebApplicationClient(self.client_id)

    def start(self, scope: str = "openid name address birthdate gender", **extra: str) -> Attempt:
        verifier = self.oauth.create_code_verifier(64)
        challenge = self.oauth.create_code_challenge(verifier, "S256")
        state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        url = self.oauth.prepare_request_uri(
            self.metadata["authorization_endpoint"],
            redirect_uri=self.redirect_uri,
            scope=scope.split(),
            state=state,
            nonce=nonce,
            code_challenge=challenge,
            code_challenge_method="S256",
            **extra,
        )
        return Attempt(url, state, nonce, verifier)

    def code_from(self, attempt: Attempt, callback: str) -> str:
        """The code of the callback URL, with the state checked by oauthlib."""
        params = self.oauth.parse_request_uri_response(callback, state=attempt.state)
        code: str = params["code"]
        return code

    def client_assertion(self, *, audience: str | None = None, jti: str | None = None) -> str:
        assert self.private_key is not None
        now = int(time.time())
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": audience or self.metadata["token_endpoint"],
            "iat": now,
            "exp": now + 60,
            "jti": jti or secrets.token_urlsafe(16),
        }
        return jwt.encode(claims, self.private_key, algorithm="ES256", headers={"kid": self.kid})

    def _authenticated(self, body: str, assertion: str | None = None) -> dict[str, Any]:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if self.secret is not None:
            basic = base64.b64encode(f"{self.client_id}:{self.secret}".encode()).decode()
            headers["Authorization"] = f"Basic {basic}"
        else:
            body += "&" + urlencode(
                {
                    "client_assertion_type": ASSERTION_TYPE,
                    "client_assertion": assertion or self.client_assertion(),
                }
            )
        return {"content": body, "headers": headers}

    def token_request(
        self,
        code: str,
        verifier: str,
        *,
        redirect_uri: str | None = None,
        assertion: str | None = None,
    ) -> httpx2.Response:
        body = self.oauth.prepare_request_body(
            code=code,
            redirect_uri=redirect_uri or self.redirect_uri,
            code_verifier=verifier,
            include_client_id=False,
        )
        return self.http.post(
            self.metadata["token_endpoint"], **self._authenticated(body, assertion)
        )

    def refresh_request(self, refresh_token: str) -> httpx2.Response:
        body = self.oauth.prepare_refresh_body(refresh_token=refresh_token, include_client_id=False)
        return self.http.post(self.metadata["token_endpoint"], **self._authenticated(body))

    def userinfo(self, access_token: str) -> httpx2.Response:
        return self.http.get(
            self.metadata["userinfo_endpoint"], headers={"Authorization": f"Bearer {access_token}"}
        )

    def jwks(self) -> jwt.PyJWKSet:
        return jwt.PyJWKSet.from_dict(self.http.get(self.metadata["jwks_uri"]).json())

    def validate_id_token(
        self, id_token: str, *, nonce: str | None, audience: str | None = None, key: Any = None
    ) -> dict[str, Any]:
        """PyJWT's checks: signature, iss, aud, exp, iat; then the nonce."""
        if key is None:
            kid = jwt.get_unverified_header(id_token)["kid"]
            key = self.jwks()[kid]
        claims: dict[str, Any] = jwt.decode(
            id_token,
            key,
            algorithms=["ES256"],
            audience=audience or self.client_id,
            issuer=self.issuer,
            options={"require": ["exp", "iat", "iss", "aud", "sub", "auth_time"]},
        )
        assert claims.get("nonce") == nonce
        return claims


def hidden_fields(page: str) -> dict[str, str]:
    return {name: html.unescape(value) for name, value in _HIDDEN.findall(page)}


def query_of(location: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}


def authorize(browser: httpx2.Client, url: str, decision: str | None = "allow") -> httpx2.Response:
    """What a person's browser does: open the URL and, on the consent screen, answer it.

    Returns the response that redirects back to the relying party (or the page shown instead).
    """
    response = browser.get(url, follow_redirects=False)
    if response.status_code == 200 and decision is not None and 'name="decision"' in response.text:
        fields = hidden_fields(response.text)
        fields["decision"] = decision
        response = browser.post(
            urlsplit(url)._replace(query="").geturl(), data=fields, follow_redirects=False
        )
    return response
