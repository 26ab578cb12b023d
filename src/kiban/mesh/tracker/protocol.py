"""How a provider's gateway hands its data-tracker records to the platform, and how the
platform knows which gateway sent them — or sent anything else it asks of the platform in its
own name, such as spending a consent (``kiban.mesh.consent``).

The gateway posts a compact JWS (ES256, ``application/jose``) signed with its key; the
header's ``typ`` says what it is (a batch of records here) and its ``kid`` is the gateway's
organisation certificate's serial, lower-case hex.  The platform is the registry: it looks the
certificate up in its own register and checks it as the CA checks any holder's — issued by
this deployment's CA, an organisation certificate, within its validity, not revoked — before
it verifies the signature with its key.  A revoked certificate stops counting at once,
without waiting for the next global configuration.  Every payload names its ``provider``,
which must be the signer's member, and its ``issued_at``, which must not be ahead of the
platform's clock; :func:`verify_gateway_jws` and :meth:`SignedByGateway.check_sender` are the
one place where both kinds of message are checked so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey
from sqlalchemy.orm import Session

from kiban.core.config import Settings
from kiban.core.errors import ProblemError
from kiban.identity.ca.models import CertificateKind
from kiban.identity.ca.repository import CertificateRepository
from kiban.identity.ca.service import CertificateAuthorityService, CertificateRejected
from kiban.mesh.gateway.problems import PROBLEMS
from kiban.mesh.gateway.protocol import FRESHNESS
from kiban.mesh.identifiers import InvalidMeshIdentifier, MemberId

PATH = "/mesh/tracker/records"
ALGORITHM = "ES256"
TYPE = "kiban-mesh-data-uses+jwt"
MEDIA_TYPE = "application/jose"
# A thousand records of the longest fields allowed, JSON-escaped and then base64url-encoded,
# stay under this: the largest body any gateway sends.
MAX_BODY = 8 * 1024 * 1024
_SERIAL = re.compile(r"[0-9a-fA-F]{1,40}")


def _jws_registry() -> jws.JWSRegistry:
    registry = jws.JWSRegistry(algorithms=[ALGORITHM])
    registry.max_payload_length = MAX_BODY  # joserfc's default (128 kB) is sized for tokens
    return registry


_JWS = _jws_registry()


def mesh_problem(slug: str, detail: str) -> ProblemError:
    """One of the problems the gateways answer with, for the same failure here."""
    status, title = PROBLEMS[slug]
    return ProblemError(status, f"mesh/{slug}", title, detail)


@dataclass(frozen=True, slots=True)
class SignedByGateway:
    """A body whose signature holds: the signing gateway's member and certificate, and the
    signed payload, not yet read."""

    member: MemberId
    serial: str
    payload: bytes

    def check_sender(self, what: str, provider: MemberId, issued_at: int, now: datetime) -> None:
        """That the payload (``what``, for the refusal: "the batch") is its signer's own and
        was not issued ahead of ``now``, beyond the clocks' skew; a 401 problem otherwise.

        An old payload is not refused: the gateway may be sending it again, delayed.
        """
        if provider != self.member:
            raise mesh_problem(
                "invalid-signature",
                f"{what} is {provider}'s, and signed with {self.member}'s"
                f" certificate {self.serial}",
            )
        ahead = issued_at - now.timestamp()
        if ahead > FRESHNESS:
            raise mesh_problem(
                "stale-request",
                f"issued_at is {int(ahead)} seconds ahead of the platform's clock;"
                f" at most {FRESHNESS} are allowed",
            )


SignedBatch = SignedByGateway
"""A batch of data-tracker records, as its provider's gateway signed it."""


def verify_gateway_jws(
    session: Session, settings: Settings, body: bytes, now: datetime, typ: str
) -> SignedByGateway:
    """The gateway that signed ``body`` and what it signed; a 401 problem when the body is not
    a ``typ`` JWS signed with a mesh member's organisation certificate that holds at ``now``.

    ``typ`` binds the signature to one use: a batch of records cannot be replayed as
    anything else a gateway may ask of the platform, nor the other way round.
    """
    try:
        header = jws.extract_compact(body, registry=_JWS).headers()
    except (JoseError, ValueError):
        raise mesh_problem("invalid-signature", "the body is not a compact JWS") from None
    if header.get("alg") != ALGORITHM or header.get("typ") != typ:
        raise mesh_problem("invalid-signature", f"the body is not a {typ} signed with {ALGORITHM}")
    serial = header.get("kid")
    if not isinstance(serial, str) or not _SERIAL.fullmatch(serial):
        raise mesh_problem(
            "unknown-certificate", "kid must be the signing certificate's serial, in hex"
        )
    serial = serial.lower()
    member, certificate = _gateway_certificate(session, settings, serial, now)
    key = certificate.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise mesh_problem("unknown-certificate", f"certificate {serial} holds no EC key")
    try:
        verified = jws.deserialize_compact(
            body, ECKey.import_key(key), algorithms=[ALGORITHM], registry=_JWS
        )
    except (JoseError, ValueError):
        raise mesh_problem(
            "invalid-signature", f"the signature does not verify with certificate {serial}"
        ) from None
    return SignedByGateway(member, serial, verified.payload)


def _gateway_certificate(
    session: Session, settings: Settings, serial: str, now: datetime
) -> tuple[MemberId, x509.Certificate]:
    """The member and certificate that ``serial`` names, if it is a mesh member's organisation
    certificate that holds at ``now``."""
    record = CertificateRepository(session).get(serial)
    if record is None or record.member_code is None:
        raise mesh_problem(
            "unknown-certificate", f"no organisation certificate has serial {serial}"
        )
    certificate = x509.load_der_x509_certificate(record.certificate_der)
    authority = CertificateAuthorityService(session, settings, now=lambda: now)
    try:
        authority.verify_holder_certificate(certificate, CertificateKind.ORGANISATION)
        return MemberId.parse(record.member_code), certificate
    except CertificateRejected as rejected:
        raise mesh_problem(
            "unknown-certificate", f"certificate {serial}: {rejected.detail}"
        ) from None
    except InvalidMeshIdentifier:
        raise mesh_problem(
            "unknown-certificate", f"certificate {serial} is not a mesh member's gateway's"
        ) from None
