"""Relying parties, registered by an operator: every input checked, the secret shown once."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy.orm import Session

from kiban.identity.oidc.models import AUTH_METHODS, OidcClient
from kiban.identity.oidc.repository import OidcRepository
from kiban.identity.oidc.scopes import OPENID, SUPPORTED_SCOPES

CLIENT_ASSERTION_ALGORITHMS = ("ES256", "EdDSA", "PS256", "RS256")
_CLIENT_ID = re.compile(r"^[A-Za-z0-9._-]{3,64}$")


class ClientRegistrationError(ValueError):
    """An input the registration refuses, said in one line."""


def secret_sha256(secret: str) -> str:
    # A random 256-bit secret needs no slow hash: it cannot be guessed from its SHA-256.
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def secret_matches(client: OidcClient, secret: str) -> bool:
    return client.secret_sha256 is not None and hmac.compare_digest(
        client.secret_sha256, secret_sha256(secret)
    )


def check_redirect_uri(uri: str, what: str = "redirect URI") -> str:
    """An absolute https URI (http only on this machine), without a fragment or wildcard."""
    parts = urlsplit(uri)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ClientRegistrationError(f"{what} must be an absolute https URL: {uri!r}")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ClientRegistrationError(
            f"{what} must use https (http only for localhost/127.0.0.1): {uri!r}"
        )
    if parts.fragment or "#" in uri:
        raise ClientRegistrationError(f"{what} must not have a fragment: {uri!r}")
    if "*" in uri or any(character.isspace() for character in uri):
        raise ClientRegistrationError(f"{what} must be exact, without * or spaces: {uri!r}")
    if len(uri) > 2048:
        raise ClientRegistrationError(f"{what} is longer than 2048 characters")
    return uri


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_client_jwks(text: str) -> KeySet:
    """A client's public keys for ``private_key_jwt``; private parts are refused."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ClientRegistrationError(f"the JWKS is not JSON: {error.msg}") from None
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list) or not data["keys"]:
        raise ClientRegistrationError('the JWKS must be an object {"keys": [ … ]} with a key')
    for key in data["keys"]:
        if not isinstance(key, dict):
            raise ClientRegistrationError("every JWKS key must be a JSON object")
        if "d" in key:
            raise ClientRegistrationError("the JWKS holds a private key: register public keys")
    try:
        return KeySet.import_key_set(data)  # type: ignore[arg-type]  # its shape is checked above
    except (JoseError, ValueError, TypeError, KeyError) as error:
        raise ClientRegistrationError(f"the JWKS cannot be read: {error}") from None


@dataclass(frozen=True, slots=True)
class NewClient:
    client: OidcClient
    secret: str | None  # client_secret_basic only; shown once, never stored


@dataclass(frozen=True, slots=True)
class ClientInput:
    name: str
    purpose: str
    redirect_uris: list[str]
    auth_method: str
    post_logout_redirect_uris: list[str]
    scopes: list[str]
    jwks: str | None = None
    jwks_uri: str | None = None


class ClientService:
    def __init__(self, session: Session) -> None:
        self.repository = OidcRepository(session)

    def create(
        self, data: ClientInput, *, client_id: str | None = None, secret: str | None = None
    ) -> NewClient:
        client_id = client_id or "rp-" + secrets.token_hex(8)
        if not _CLIENT_ID.match(client_id):
            raise ClientRegistrationError(f"invalid client id {client_id!r}")
        if self.repository.client(client_id) is not None:
            raise ClientRegistrationError(f"client {client_id} already exists")
        name = data.name.strip()
        purpose = data.purpose.strip()
        if not 1 <= len(name) <= 128:
            raise ClientRegistrationError("--name must be 1 to 128 characters")
        if not 1 <= len(purpose) <= 1000:
            raise ClientRegistrationError("--purpose must be 1 to 1000 characters")
        if not data.redirect_uris:
            raise ClientRegistrationError("at least one --redirect-uri is required")
        redirect_uris = [check_redirect_uri(uri) for uri in data.redirect_uris]
        logout_uris = [
            check_redirect_uri(uri, "post-logout redirect URI")
            for uri in data.post_logout_redirect_uris
        ]
        if data.auth_method not in AUTH_METHODS:
            raise ClientRegistrationError(
                f"--auth-method must be one of {', '.join(AUTH_METHODS)}, not {data.auth_method!r}"
            )
        unknown = sorted(set(data.scopes) - set(SUPPORTED_SCOPES))
        if unknown:
            raise ClientRegistrationError(
                f"unknown scope {', '.join(unknown)}; known: {' '.join(SUPPORTED_SCOPES)}"
            )
        scopes = [scope for scope in SUPPORTED_SCOPES if scope == OPENID or scope in data.scopes]
        jwks, jwks_uri = self._keys(data)
        secret_hash = None
        if data.auth_method == "client_secret_basic":
            secret = secret or secrets.token_urlsafe(32)
            secret_hash = secret_sha256(secret)
        else:
            secret = None
        client = OidcClient(
            client_id=client_id,
            name=name,
            purpose=purpose,
            redirect_uris="\n".join(redirect_uris),
            post_logout_redirect_uris="\n".join(logout_uris),
            auth_method=data.auth_method,
            secret_sha256=secret_hash,
            jwks=jwks,
            jwks_uri=jwks_uri,
            scope=" ".join(scopes),
            created_at=datetime.now(UTC),
        )
        self.repository.add(client)
        self.repository.session.flush()
        return NewClient(client, secret)

    def _keys(self, data: ClientInput) -> tuple[str | None, str | None]:
        if data.auth_method == "client_secret_basic":
            if data.jwks or data.jwks_uri:
                raise ClientRegistrationError(
                    "--jwks-file/--jwks-uri are for --auth-method private_key_jwt"
                )
            return None, None
        if bool(data.jwks) == bool(data.jwks_uri):
            raise ClientRegistrationError(
                "private_key_jwt needs exactly one of --jwks-file or --jwks-uri"
            )
        if data.jwks:
            keys = parse_client_jwks(data.jwks)
            return json.dumps(keys.as_dict(private=False), sort_keys=True), None
        assert data.jwks_uri is not None
        return None, check_redirect_uri(data.jwks_uri, "JWKS URI")

    def disable(self, client_id: str) -> OidcClient:
        client = self.repository.client(client_id)
        if client is None:
            raise ClientRegistrationError(f"no client {client_id}")
        if client.disabled_at is None:
            client.disabled_at = datetime.now(UTC)
            self.repository.session.flush()
        return client

    def list(self) -> list[OidcClient]:
        return self.repository.clients()
