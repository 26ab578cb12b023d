"""The virtual card: a folder holding the card's keys, certificates and a PIN counter.

A real card keeps its keys in a chip that signs but never lets them out, and locks itself
after three wrong PINs.  The virtual card keeps each key in a PKCS#12 file encrypted under
the PIN (authentication) or the signing password, with PBKDF2-SHA256 and AES-256; the
three-strikes counter is a file beside them.  Anyone with a copy of the folder can try every
PIN offline without that counter, so the folder must be kept like any private key
(docs/card.md).

Layout of a card folder::

    card.json        what the card is: version, tenant, serial numbers, validity, KDF
    auth.p12         authentication key + certificate + chain, under the 4-digit PIN
    sign.p12         signing key + certificate + chain, under the signing password (15+ only)
    auth.pem         the authentication certificate (public)
    sign.pem         the signing certificate (public; it holds the 基本4情報)
    chain.pem        the issuing CA, then the root
    pin-state.json   consecutive wrong PINs
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12

from kiban.identity.card.protocol import pin_error, signing_password_error

CARD_VERSION = 1
CARD_FILE = "card.json"
AUTH_KEY_FILE = "auth.p12"
SIGN_KEY_FILE = "sign.p12"
AUTH_CERT_FILE = "auth.pem"
SIGN_CERT_FILE = "sign.pem"
CHAIN_FILE = "chain.pem"
PIN_STATE_FILE = "pin-state.json"
MAX_PIN_FAILURES = 3  # as the real card's chip
# OWASP's figure for PBKDF2-SHA256 (2023): about a quarter of a second per guess here.
DEFAULT_KDF_ROUNDS = 600_000


class CardError(Exception):
    """Something about the card its holder can act on; the message is one line."""


class WrongPin(CardError):
    def __init__(self, remaining: int) -> None:
        super().__init__(
            f"wrong PIN; {remaining} attempt(s) left before the card locks"
            f" / 暗証番号が違います（残り{remaining}回）"
        )
        self.remaining = remaining


class CardLocked(CardError):
    def __init__(self) -> None:
        super().__init__(
            "the card is locked after 3 wrong PINs; have a new card issued at the counter"
            " / 暗証番号を3回間違えたためロックされています。窓口で再発行してください"
        )


@dataclass(frozen=True, slots=True)
class CardKeys:
    """What goes into a new card folder."""

    authentication_key: ec.EllipticCurvePrivateKey
    authentication_certificate: x509.Certificate
    signing_key: ec.EllipticCurvePrivateKey | None
    signing_certificate: x509.Certificate | None
    chain: tuple[x509.Certificate, ...]  # issuing CA, root


def _encrypted(secret: str, rounds: int) -> serialization.KeySerializationEncryption:
    return (
        serialization.PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(rounds)
        .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
        .hmac_hash(hashes.SHA256())
        .build(secret.encode("ascii"))
    )


def _pem(*certificates: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certificates)


def _write(path: Path, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)


def check_new_card_directory(directory: Path) -> None:
    """Refuse a folder that exists with something in it: a card is never overwritten."""
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise CardError(f"{directory} already exists and is not empty; choose a new folder")


def write_card(
    directory: Path,
    keys: CardKeys,
    *,
    pin: str,
    signing_password: str | None,
    metadata: dict[str, Any],
    kdf_rounds: int = DEFAULT_KDF_ROUNDS,
) -> None:
    """Write a new card folder, all at once: a folder that exists is a whole card."""
    error = pin_error(pin) or (
        signing_password_error(signing_password) if signing_password is not None else None
    )
    if error:
        raise CardError(error)
    check_new_card_directory(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    draft = directory.with_name(f".{directory.name}.{secrets.token_hex(6)}.draft")
    draft.mkdir(mode=0o700)
    try:
        auth = keys.authentication_certificate
        _write(
            draft / AUTH_KEY_FILE,
            pkcs12.serialize_key_and_certificates(
                b"authentication",
                keys.authentication_key,
                auth,
                list(keys.chain),
                _encrypted(pin, kdf_rounds),
            ),
        )
        _write(draft / AUTH_CERT_FILE, _pem(auth))
        if keys.signing_key is not None and keys.signing_certificate is not None:
            if signing_password is None:
                raise CardError("a signing password is needed for the signing key")
            _write(
                draft / SIGN_KEY_FILE,
                pkcs12.serialize_key_and_certificates(
                    b"signing",
                    keys.signing_key,
                    keys.signing_certificate,
                    list(keys.chain),
                    _encrypted(signing_password, kdf_rounds),
                ),
            )
            _write(draft / SIGN_CERT_FILE, _pem(keys.signing_certificate))
        _write(draft / CHAIN_FILE, _pem(*keys.chain))
        _write(draft / PIN_STATE_FILE, json.dumps({"failures": 0}).encode())
        card = {"version": CARD_VERSION, **metadata, "kdf": f"PBKDF2-SHA256/{kdf_rounds}"}
        _write(draft / CARD_FILE, json.dumps(card, ensure_ascii=False, indent=2).encode())
        with contextlib.suppress(FileNotFoundError):
            directory.rmdir()  # an empty folder the user made for the card
        draft.rename(directory)
    except BaseException:
        shutil.rmtree(draft, ignore_errors=True)
        raise


class VirtualCard:
    """A card folder, opened; keys are only ever decrypted with the right PIN."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        try:
            metadata = json.loads((directory / CARD_FILE).read_text(encoding="utf-8"))
            certificate = x509.load_pem_x509_certificate((directory / AUTH_CERT_FILE).read_bytes())
        except FileNotFoundError:
            raise CardError(f"{directory} is not a card folder (no {CARD_FILE})") from None
        except (ValueError, UnicodeDecodeError) as error:
            raise CardError(f"{directory} holds a damaged card: {error}") from None
        if not isinstance(metadata, dict) or metadata.get("version") != CARD_VERSION:
            raise CardError(f"{directory} holds a card of an unknown version")
        self.metadata: dict[str, Any] = metadata
        self.authentication_certificate = certificate

    @property
    def authentication_serial(self) -> str:
        return f"{self.authentication_certificate.serial_number:x}"

    # The counter ----------------------------------------------------------------------------

    def _failures(self) -> int:
        try:
            state = json.loads((self.directory / PIN_STATE_FILE).read_text(encoding="utf-8"))
            return int(state["failures"])
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            # A missing or edited counter counts as locked: the safe reading of a tampered card.
            return MAX_PIN_FAILURES

    def _set_failures(self, failures: int) -> None:
        path = self.directory / PIN_STATE_FILE
        draft = path.with_name(f".{PIN_STATE_FILE}.{secrets.token_hex(4)}")
        _write(draft, json.dumps({"failures": failures}).encode())
        draft.replace(path)

    @property
    def locked(self) -> bool:
        return self._failures() >= MAX_PIN_FAILURES

    @property
    def remaining_attempts(self) -> int:
        return max(0, MAX_PIN_FAILURES - self._failures())

    # The key --------------------------------------------------------------------------------

    def authentication_key(self, pin: str) -> ec.EllipticCurvePrivateKey:
        """The key, if ``pin`` is right; each wrong PIN counts towards the lock."""
        error = pin_error(pin)
        if error:  # not a PIN at all: a real reader refuses it before it reaches the chip
            raise CardError(error)
        failures = self._failures()
        if failures >= MAX_PIN_FAILURES:
            raise CardLocked
        try:
            key, _certificate, _chain = pkcs12.load_key_and_certificates(
                (self.directory / AUTH_KEY_FILE).read_bytes(), pin.encode("ascii")
            )
        except ValueError:
            failures += 1
            self._set_failures(failures)
            if failures >= MAX_PIN_FAILURES:
                raise CardLocked from None
            raise WrongPin(MAX_PIN_FAILURES - failures) from None
        except FileNotFoundError:
            raise CardError(f"{self.directory} has no {AUTH_KEY_FILE}") from None
        if failures:
            self._set_failures(0)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise CardError("the card's authentication key is not an ECDSA key")
        return key

    def sign(self, pin: str, message: bytes) -> bytes:
        """An ECDSA P-256 / SHA-256 signature (DER) over ``message`` with the authentication key."""
        return self.authentication_key(pin).sign(message, ec.ECDSA(hashes.SHA256()))
