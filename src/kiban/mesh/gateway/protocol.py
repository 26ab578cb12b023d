"""The message protocol between a consumer's gateway and a provider's gateway.

A consumer's system calls its own gateway with ``{METHOD} /r1/{service}[/path]`` and the
``Kiban-*`` headers.  The consumer's gateway signs the request — method, target, the
``Kiban-*`` values and the body's SHA-256 — as a compact JWS (ES256) in ``Kiban-Signature``,
with its organisation certificate's serial as ``kid``, and sends it to the provider's gateway
over mutual TLS.  The provider's gateway answers with a JWS of its own over the status, the
body's SHA-256 and ``Kiban-Request-Hash``, the SHA-256 of the request's signature, which binds
the response to that one request.  Each side verifies the other's signature with the
certificate the signed global configuration lists for the other's member: a revoked
certificate leaves the configuration and its signatures stop counting at once.

Header values that are not ASCII (a legal basis such as ``番号法第19条第8号``) are UTF-8,
percent-encoded.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
import uuid
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import quote, unquote

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from kiban.mesh.identifiers import InvalidMeshIdentifier, ServiceId, SubsystemId, chosen_code

PREFIX = "/r1/"
ALGORITHM = "ES256"
REQUEST_TYPE = "kiban-mesh-request+jwt"
RESPONSE_TYPE = "kiban-mesh-response+jwt"
# How far apart two gateways' clocks and a request's flight may be; a request older than this
# is refused, and message identifiers are remembered for twice as long to refuse replays.
FRESHNESS = 300

CLIENT = "Kiban-Client"
MESSAGE_ID = "Kiban-Id"
USER_ID = "Kiban-UserId"
PURPOSE = "Kiban-Purpose"
LEGAL_BASIS = "Kiban-Legal-Basis"
CONSENT = "Kiban-Consent"
SIGNATURE = "Kiban-Signature"
REQUEST_HASH = "Kiban-Request-Hash"
# Set by the provider's system on an answer about one person; recorded in the data tracker and
# never passed on to the consumer.
DATA_SUBJECT = "Kiban-Data-Subject"

_TEXT_MAX = 256
_VERSION_SEGMENT = re.compile(r"v[1-9][0-9]{0,3}")
_REGISTRY = jws.JWSRegistry(algorithms=[ALGORITHM])


class ProtocolError(ValueError):
    """A request or response that does not follow the protocol.  ``slug`` names the problem
    type; the message says what is wrong, on one line."""

    def __init__(self, slug: str, message: str) -> None:
        super().__init__(message)
        self.slug = slug


@dataclass(frozen=True, slots=True)
class Target:
    """What a request names after ``/r1/``: the service, and the path within it."""

    service: ServiceId
    path: str  # starts with "/", without the query
    query: str  # without "?"

    @property
    def path_and_query(self) -> str:
        return f"{self.path}?{self.query}" if self.query else self.path

    @classmethod
    def parse(cls, path: str, query: str = "") -> Target:
        """``/r1/JP/LG/131016/juki/resident-certificate/v1/residents/1`` → the service
        ``…/resident-certificate/v1`` and the path ``/residents/1``.  The segment after the
        service code is its version when it has the form ``v{n}``."""
        if not path.startswith(PREFIX):
            raise ProtocolError("bad-request", f"a service is called at {PREFIX}{{service}}/…")
        segments = path[len(PREFIX) :].split("/")
        if len(segments) < 5:
            raise ProtocolError(
                "bad-request", "the path must name a service: /r1/JP/{class}/{member}/…"
            )
        count = 6 if len(segments) > 5 and _VERSION_SEGMENT.fullmatch(segments[5]) else 5
        try:
            service = ServiceId.parse("/".join(segments[:count]))
        except InvalidMeshIdentifier as error:
            raise ProtocolError("bad-request", str(error)) from None
        rest = "/" + "/".join(segments[count:])
        return cls(service, rest, query)


@dataclass(frozen=True, slots=True)
class Exchange:
    """The signed facts of one request, as both gateways log and check them."""

    id: str
    client: str
    service: str
    method: str
    path: str  # within the service, with the query
    user: str | None
    purpose: str | None
    legal_basis: str | None
    consent: str | None
    body: str  # base64url SHA-256 of the request body
    iat: int

    def claims(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Answer:
    """The signed facts of one response."""

    id: str
    request: str  # Kiban-Request-Hash: the SHA-256 of the request's signature
    status: int
    body: str
    iat: int


def digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")


def request_hash(signature: str) -> str:
    return digest(signature.encode("ascii"))


def encode_header(value: str) -> str:
    return quote(value, safe=" !#$&'()*+,/:;=?@[]~")


def _text(headers: dict[str, str], name: str) -> str | None:
    raw = headers.get(name.lower())
    if raw is None or raw == "":
        return None
    try:
        value = unquote(raw, errors="strict")
    except UnicodeDecodeError:
        raise ProtocolError("bad-request", f"{name} is not percent-encoded UTF-8") from None
    if len(value) > _TEXT_MAX or not value.isprintable():
        raise ProtocolError(
            "bad-request", f"{name} must be printable text of at most {_TEXT_MAX} characters"
        )
    return value


def calling_client(headers: dict[str, str]) -> SubsystemId:
    """The subsystem that calls, from ``Kiban-Client`` (headers with lower-cased names)."""
    client = _text(headers, CLIENT)
    if client is None:
        raise ProtocolError("bad-request", f"{CLIENT} is required: the calling subsystem")
    try:
        return SubsystemId.parse(client)
    except InvalidMeshIdentifier as error:
        raise ProtocolError("bad-request", f"{CLIENT}: {error}") from None


def consumer_exchange(
    headers: dict[str, str], target: Target, method: str, body: bytes, *, now: float | None = None
) -> Exchange:
    """The exchange a consumer's system asks for, from its ``Kiban-*`` headers (lower-cased
    names); a missing ``Kiban-Id`` is generated."""
    client = str(calling_client(headers))
    message_id = _text(headers, MESSAGE_ID)
    if message_id is None:
        message_id = str(uuid.uuid4())
    else:
        try:
            message_id = str(uuid.UUID(message_id))
        except ValueError:
            raise ProtocolError("bad-request", f"{MESSAGE_ID} must be a UUID") from None
    purpose = _text(headers, PURPOSE)
    if purpose is not None:
        try:
            purpose = chosen_code("purpose", purpose)
        except InvalidMeshIdentifier as error:
            raise ProtocolError("bad-request", f"{PURPOSE}: {error}") from None
    return Exchange(
        id=message_id,
        client=client,
        service=str(target.service),
        method=method.upper(),
        path=target.path_and_query,
        user=_text(headers, USER_ID),
        purpose=purpose,
        legal_basis=_text(headers, LEGAL_BASIS),
        consent=_text(headers, CONSENT),
        body=digest(body),
        iat=int(now if now is not None else time.time()),
    )


def forwarded_headers(exchange: Exchange) -> dict[str, str]:
    """The ``Kiban-*`` headers that carry an exchange to the provider's gateway and system."""
    headers = {MESSAGE_ID: exchange.id, CLIENT: exchange.client}
    for name, value in (
        (USER_ID, exchange.user),
        (PURPOSE, exchange.purpose),
        (LEGAL_BASIS, exchange.legal_basis),
        (CONSENT, exchange.consent),
    ):
        if value is not None:
            headers[name] = encode_header(value)
    return headers


class Signer:
    """Signs with a gateway's key; ``kid`` is its certificate's serial."""

    def __init__(self, private_key: ec.EllipticCurvePrivateKey, serial: str) -> None:
        self._key = ECKey.import_key(private_key)
        self.serial = serial

    def sign_request(self, exchange: Exchange) -> str:
        return self.sign(REQUEST_TYPE, exchange.claims())

    def sign_response(self, answer: Answer) -> str:
        return self.sign(RESPONSE_TYPE, asdict(answer))

    def sign(self, kind: str, claims: dict[str, Any]) -> str:
        """``claims`` as a compact JWS of type ``kind``."""
        header = {"alg": ALGORITHM, "typ": kind, "kid": self.serial}
        payload = json.dumps(claims, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return jws.serialize_compact(
            header, payload, self._key, algorithms=[ALGORITHM], registry=_REGISTRY
        )


class Verifier:
    """Checks signatures against the certificates of the current configuration: serial →
    (member, public key)."""

    def __init__(self, certificates: dict[str, tuple[str, x509.Certificate]]) -> None:
        self._keys = {
            serial.lower(): (member, ECKey.import_key(key))
            for serial, (member, certificate) in certificates.items()
            if isinstance(key := certificate.public_key(), ec.EllipticCurvePublicKey)
        }

    def verify(self, token: str, kind: str) -> tuple[str, dict[str, Any]]:
        """The signer's member and the signed claims; :class:`ProtocolError` otherwise."""
        try:
            header = jws.extract_compact(token.encode("ascii"), registry=_REGISTRY).headers()
        except (JoseError, ValueError, UnicodeEncodeError):
            raise ProtocolError("invalid-signature", f"{SIGNATURE} is not a compact JWS") from None
        if header.get("alg") != ALGORITHM or header.get("typ") != kind:
            raise ProtocolError("invalid-signature", f"{SIGNATURE} is not a {kind}")
        known = self._keys.get(str(header.get("kid")).lower())
        if known is None:
            raise ProtocolError(
                "unknown-certificate",
                "the signing certificate is not one the configuration lists "
                "(unknown, expired or revoked)",
            )
        member, key = known
        try:
            verified = jws.deserialize_compact(
                token, key, algorithms=[ALGORITHM], registry=_REGISTRY
            )
            claims = json.loads(verified.payload)
        except (JoseError, ValueError):
            raise ProtocolError("invalid-signature", "the signature does not verify") from None
        if not isinstance(claims, dict):
            raise ProtocolError("invalid-signature", "the signed content is not an object")
        return member, claims

    def verify_request(self, token: str) -> tuple[str, Exchange]:
        member, claims = self.verify(token, REQUEST_TYPE)
        try:
            return member, Exchange(**claims)
        except TypeError:
            raise ProtocolError("invalid-signature", "the signed request is incomplete") from None

    def verify_response(self, token: str) -> tuple[str, Answer]:
        member, claims = self.verify(token, RESPONSE_TYPE)
        try:
            return member, Answer(**claims)
        except TypeError:
            raise ProtocolError("invalid-signature", "the signed response is incomplete") from None
