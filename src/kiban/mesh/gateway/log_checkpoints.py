"""Signed checkpoints: the gateway's statement that its log held this chain at this moment.

A checkpoint is a compact JWS (ES256) by the gateway's organisation key over the number and
hash of the chain's last record and the time, with the gateway's certificate and its issuer
in ``x5c``: it verifies on its own, years later, against the mesh's root CA.  Whoever rewrites
the records a checkpoint covers would have to forge the gateway's signature to hide it.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from kiban.identity.ca.models import CertificateKind
from kiban.identity.ca.profiles import policy_of
from kiban.mesh.gateway.log_records import DIGEST_SIZE

ALGORITHM = "ES256"
TYPE = "kiban-mesh-log-checkpoint+jwt"


def _jws_registry() -> jws.JWSRegistry:
    registry = jws.JWSRegistry(algorithms=[ALGORITHM])
    registry.max_header_length = 8_192  # two certificates in x5c: beyond joserfc's 512 bytes
    return registry


_JWS = _jws_registry()


@dataclass(frozen=True, slots=True)
class Checkpoint:
    seq: int  # the last record it covers
    hash: bytes  # that record's hash
    time: datetime
    token: str  # the compact JWS
    signer: str  # the common name of the signing certificate, e.g. JP/LG/131016


class CheckpointInvalid(ValueError):
    """A checkpoint that proves nothing; the message says why, on one line."""


def _der_b64(certificate: x509.Certificate) -> str:
    return base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode("ascii")


def _common_name(certificate: x509.Certificate) -> str:
    names = certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(names[0].value) if names else certificate.subject.rfc4514_string()


class CheckpointSigner:
    """Signs checkpoints with the gateway's key; ``issuers``: its certificate's issuing CA(s)."""

    def __init__(
        self,
        key: ec.EllipticCurvePrivateKey,
        certificate: x509.Certificate,
        issuers: Sequence[x509.Certificate] = (),
    ) -> None:
        if certificate.public_key() != key.public_key():
            raise ValueError("the certificate certifies another key than the signing key")
        self._header = {
            "alg": ALGORITHM,
            "typ": TYPE,
            "x5c": [_der_b64(one) for one in (certificate, *issuers)],
        }
        self._key = ECKey.import_key(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        self.signer = _common_name(certificate)

    def sign(self, seq: int, record_hash: bytes, time: datetime) -> Checkpoint:
        payload = {"seq": seq, "hash": record_hash.hex(), "time": time.astimezone(UTC).isoformat()}
        token = jws.serialize_compact(
            self._header,
            json.dumps(payload, sort_keys=True).encode("ascii"),
            self._key,
            algorithms=[ALGORITHM],
            registry=_JWS,
        )
        return Checkpoint(seq, record_hash, time, token, self.signer)


@dataclass(frozen=True, slots=True)
class _Signer:
    key: ECKey
    chain: tuple[x509.Certificate, ...]  # the signer's certificate first


@lru_cache(maxsize=64)
def _signer(x5c: tuple[str, ...]) -> _Signer:
    """The signer a checkpoint names, parsed once: a log's checkpoints share one or two."""
    try:
        chain = tuple(x509.load_der_x509_certificate(base64.b64decode(one)) for one in x5c)
    except (ValueError, binascii.Error):
        raise CheckpointInvalid("x5c holds something that is not a certificate") from None
    public = chain[0].public_key()
    if not isinstance(public, ec.EllipticCurvePublicKey):
        raise CheckpointInvalid("the signing certificate's key is not an EC key")
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return _Signer(ECKey.import_key(pem), chain)


def _check_chain(chain: tuple[x509.Certificate, ...], root: x509.Certificate, at: datetime) -> None:
    """``chain`` leads to ``root``, every certificate valid when the checkpoint was signed."""
    try:
        for certificate, issuer in itertools.pairwise(chain):
            certificate.verify_directly_issued_by(issuer)
        if chain[-1] != root:
            chain[-1].verify_directly_issued_by(root)
    except (ValueError, TypeError, InvalidSignature):
        raise CheckpointInvalid("the signing certificate is not under the trusted root") from None
    for certificate in (*chain, root):
        if not certificate.not_valid_before_utc <= at <= certificate.not_valid_after_utc:
            raise CheckpointInvalid("a certificate was not valid when the checkpoint was signed")
    if policy_of(chain[0]) is not CertificateKind.ORGANISATION:
        raise CheckpointInvalid("the signing certificate is not an organisation's (a gateway's)")


def verify_checkpoint(token: str, root: x509.Certificate | None) -> Checkpoint:
    """The checkpoint ``token`` states, once its signature verifies (and, given ``root``, once
    its certificate chains to it); else :class:`CheckpointInvalid`."""
    try:
        header = jws.extract_compact(token.encode("ascii"), registry=_JWS).headers()
    except (JoseError, ValueError, UnicodeEncodeError):
        raise CheckpointInvalid("not a compact JWS") from None
    x5c = header.get("x5c")
    if header.get("alg") != ALGORITHM or header.get("typ") != TYPE:
        raise CheckpointInvalid(f"not a {TYPE} signed with {ALGORITHM}")
    if not isinstance(x5c, list) or not x5c or not all(isinstance(one, str) for one in x5c):
        raise CheckpointInvalid("x5c must hold the signing certificate")
    signer = _signer(tuple(x5c))
    try:
        signed = jws.deserialize_compact(token, signer.key, algorithms=[ALGORITHM], registry=_JWS)
    except JoseError:
        raise CheckpointInvalid("the signature does not verify") from None
    try:
        payload = json.loads(signed.payload)
        seq, record_hash = payload["seq"], bytes.fromhex(payload["hash"])
        time = datetime.fromisoformat(payload["time"])
    except (ValueError, KeyError, TypeError):
        raise CheckpointInvalid("the signed content is not a checkpoint") from None
    if type(seq) is not int or len(record_hash) != DIGEST_SIZE or time.tzinfo is None:
        raise CheckpointInvalid("the signed content is not a checkpoint")
    if root is not None:
        _check_chain(signer.chain, root, time)
    return Checkpoint(seq, record_hash, time, token, _common_name(signer.chain[0]))
