"""Client authentication at the token endpoint: ``client_secret_basic`` and ``private_key_jwt``.

A client assertion (RFC 7523) is a JWT the client signs with a key it registered: ``iss`` and
``sub`` are its client id, ``aud`` is the token endpoint or the issuer, ``exp`` is soon, and
its ``jti`` is accepted once.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import threading
import time
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from urllib.parse import unquote_plus
from weakref import WeakKeyDictionary

import httpx2
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import extract_compact
from sqlalchemy.pool import Pool

from kiban.identity.oidc.clients import (
    CLIENT_ASSERTION_ALGORITHMS,
    ClientRegistrationError,
    parse_client_jwks,
    secret_matches,
    secret_sha256,
)
from kiban.identity.oidc.errors import invalid_client
from kiban.identity.oidc.models import OidcClient
from kiban.identity.oidc.repository import OidcRepository

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# An assertion's jti is remembered until it expires, so a long-lived one is refused.
MAX_ASSERTION_LIFETIME = timedelta(minutes=10)
CLOCK_SKEW = 30
_JWKS_URI_CACHE_SECONDS = 300

_jwks_cache_lock = threading.Lock()
_jwks_cache: dict[str, tuple[float, KeySet]] = {}


def _fetch_jwks(uri: str, *, refresh: bool = False) -> KeySet:
    now = time.monotonic()
    cached = _jwks_cache.get(uri)
    if cached and not refresh and cached[0] > now:
        return cached[1]
    try:
        response = httpx2.get(uri, timeout=5, follow_redirects=False)
        response.raise_for_status()
        keys = parse_client_jwks(response.text)
    except (httpx2.HTTPError, ClientRegistrationError) as error:
        raise invalid_client(f"the client's JWKS could not be fetched: {error}") from None
    with _jwks_cache_lock:
        _jwks_cache[uri] = (now + _JWKS_URI_CACHE_SECONDS, keys)
    return keys


@lru_cache(maxsize=256)
def _registered_keys(jwks: str) -> KeySet:
    # Keyed by the registered JWKS text itself, so a changed registration is never served stale.
    return KeySet.import_key_set(json.loads(jwks))


def _client_keys(client: OidcClient, *, refresh: bool = False) -> KeySet:
    if client.jwks:
        return _registered_keys(client.jwks)
    if client.jwks_uri:
        return _fetch_jwks(client.jwks_uri, refresh=refresh)
    raise invalid_client("the client has no registered keys")


def basic_credentials(credentials: str, form_client_id: str | None = None) -> tuple[str, str]:
    """The client id and secret of HTTP Basic credentials (after ``Basic ``); else
    ``invalid_client``."""
    try:
        decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise invalid_client("malformed HTTP Basic credentials", basic=True) from None
    raw_id, colon, raw_secret = decoded.partition(":")
    # RFC 6749 §2.3.1: both parts are form-urlencoded before being joined.
    client_id, secret = unquote_plus(raw_id), unquote_plus(raw_secret)
    if not colon or not client_id:
        raise invalid_client("malformed HTTP Basic credentials", basic=True)
    if form_client_id is not None and form_client_id != client_id:
        raise invalid_client("client_id does not match the credentials", basic=True)
    return client_id, secret


_KNOWN_SECRET_SECONDS = 60.0
_KNOWN_SECRETS_KEPT = 10_000  # per database; the least recently read go first


class KnownClientSecrets:
    """Each ``client_secret_basic`` client's secret hash as this process last read it.

    The token endpoint's one-statement exchange counts a caller against a client's rate limit
    only once the caller has shown that client's secret, as authenticating first would; this
    tells it so without reading the client each time.  It is never trusted alone: the
    statement itself checks the secret, and that the client is enabled, where it spends the
    code.  A secret read more than a minute ago is read again.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_database: WeakKeyDictionary[Pool, OrderedDict[str, tuple[float, str | None]]]
        self._by_database = WeakKeyDictionary()

    def shown(self, repository: OidcRepository, client_id: str, secret: str) -> bool:
        """Whether ``secret`` is the enabled client's secret, as last read."""
        database = repository.session.get_bind().engine.pool
        now = time.monotonic()
        with self._lock:
            known = self._by_database.setdefault(database, OrderedDict()).get(client_id)
        if known is None or known[0] < now:
            client = repository.client(client_id)
            known = (
                now + _KNOWN_SECRET_SECONDS,
                client.secret_sha256
                if client is not None
                and client.disabled_at is None
                and client.auth_method == "client_secret_basic"
                else None,
            )
            with self._lock:
                kept = self._by_database.setdefault(database, OrderedDict())
                kept[client_id] = known
                kept.move_to_end(client_id)
                if len(kept) > _KNOWN_SECRETS_KEPT:
                    kept.popitem(last=False)
        return known[1] is not None and hmac.compare_digest(known[1], secret_sha256(secret))


known_client_secrets = KnownClientSecrets()


class ClientAuthenticator:
    def __init__(self, repository: OidcRepository, *, issuer: str, token_endpoint: str) -> None:
        self.repository = repository
        self.issuer = issuer
        self.token_endpoint = token_endpoint

    def authenticate(
        self,
        authorization: str | None,
        client_id: str | None,
        assertion_type: str | None,
        assertion: str | None,
        now: datetime | None = None,
    ) -> OidcClient:
        """The client that authenticated, or ``invalid_client``."""
        now = now or datetime.now(UTC)
        if authorization and authorization[:6].lower() == "basic ":
            if assertion:
                raise invalid_client("use one client authentication method, not two")
            return self._basic(authorization[6:].strip(), client_id)
        if assertion_type or assertion:
            if assertion_type != ASSERTION_TYPE or not assertion:
                raise invalid_client(f"client_assertion_type must be {ASSERTION_TYPE}")
            return self._assertion(assertion, client_id, now)
        raise invalid_client(
            "authenticate the client with HTTP Basic or a client assertion", basic=True
        )

    def _enabled(self, client_id: str, method: str, *, basic: bool = False) -> OidcClient:
        client = self.repository.client(client_id)
        if client is None or client.disabled_at is not None:
            raise invalid_client("unknown or disabled client", basic=basic)
        if client.auth_method != method:
            raise invalid_client(f"this client authenticates with {client.auth_method}")
        return client

    def _basic(self, credentials: str, form_client_id: str | None) -> OidcClient:
        client_id, secret = basic_credentials(credentials, form_client_id)
        client = self._enabled(client_id, "client_secret_basic", basic=True)
        if not secret_matches(client, secret):
            raise invalid_client("wrong client secret", basic=True)
        return client

    def _assertion(self, assertion: str, form_client_id: str | None, now: datetime) -> OidcClient:
        try:
            unverified = json.loads(extract_compact(assertion.encode("ascii")).payload)
        except (JoseError, ValueError, UnicodeEncodeError):
            raise invalid_client("the client assertion is not a JWT") from None
        client_id = unverified.get("iss") if isinstance(unverified, dict) else None
        if not isinstance(client_id, str) or (
            form_client_id is not None and form_client_id != client_id
        ):
            raise invalid_client("the client assertion's iss is not the client")
        client = self._enabled(client_id, "private_key_jwt")
        claims = self._verified_claims(client, assertion)
        if claims.get("sub") != client_id:
            raise invalid_client("the client assertion's sub must be the client id")
        audience = claims.get("aud")
        audiences = [audience] if isinstance(audience, str) else audience
        if not isinstance(audiences, list) or not (
            {self.token_endpoint, self.issuer} & set(audiences)
        ):
            raise invalid_client("the client assertion's aud is not this token endpoint")
        expires = claims.get("exp")
        if not isinstance(expires, int | float):
            raise invalid_client("the client assertion has no exp")
        expires_at = datetime.fromtimestamp(expires, UTC)
        if expires_at <= now - timedelta(seconds=CLOCK_SKEW):
            raise invalid_client("the client assertion has expired")
        if expires_at > now + MAX_ASSERTION_LIFETIME:
            raise invalid_client("the client assertion lives longer than 10 minutes")
        jti = claims.get("jti")
        if not isinstance(jti, str) or not 1 <= len(jti) <= 256:
            raise invalid_client("the client assertion needs a jti")
        # Kept as long as the assertion could still be accepted: through the clock skew.
        still_acceptable_after = now - timedelta(seconds=CLOCK_SKEW)
        if not self.repository.remember_assertion(
            client_id, jti, expires_at, forget_before=still_acceptable_after
        ):
            raise invalid_client("the client assertion was already used")
        return client

    def _verified_claims(self, client: OidcClient, assertion: str) -> dict[str, object]:
        for refresh in (False, True):  # a key missing from a cached JWKS may be new
            keys = _client_keys(client, refresh=refresh)
            try:
                token = jwt.decode(assertion, keys, algorithms=list(CLIENT_ASSERTION_ALGORITHMS))
            except (JoseError, ValueError) as error:
                if refresh or not client.jwks_uri:
                    raise invalid_client(f"the client assertion does not verify: {error}") from None
                continue
            return dict(token.claims)
        raise invalid_client("the client assertion does not verify")
