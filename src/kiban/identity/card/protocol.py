"""What the browser, the server and the device agree on: codes, the signed message, PINs.

The device signs ``signin_message(origin, code, challenge)`` with the card's authentication
key (ECDSA P-256, SHA-256, DER signature).  The message names the server's origin, so a
signature made for one site is worthless at another, and the one-time challenge, so it is
worthless a second time.
"""

from __future__ import annotations

import base64
import re
import secrets
from urllib.parse import urlsplit

# Crockford's base32 without the letters people confuse (I, L, O, U): 32^8 ≈ 10^12 codes.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 8
MESSAGE_PREFIX = "kiban-card-signin/v1"

_PIN = re.compile(r"^[0-9]{4}$")
_SIGNING_PASSWORD = re.compile(r"^(?=.*[A-Z])(?=.*[0-9])[A-Z0-9]{6,16}$")
_CODE_TYPED = re.compile(r"[\s-]")


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def display_code(code: str) -> str:
    """``ABCD2345`` as shown to people: ``ABCD-2345``."""
    return f"{code[:4]}-{code[4:]}"


def normalise_code(typed: str) -> str | None:
    """A code as a person may type it (lower case, with a dash or spaces), or None if it is not one.

    Crockford's rules read the confusable letters as the digits they look like.
    """
    text = _CODE_TYPED.sub("", typed).upper().translate(str.maketrans("OIL", "011"))
    if len(text) != CODE_LENGTH or any(character not in CODE_ALPHABET for character in text):
        return None
    return text


def new_challenge() -> str:
    return b64url(secrets.token_bytes(32))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strict base64url without padding; ValueError on anything else."""
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of a URL, lower-cased, as the message names the server."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ValueError(f"not an http(s) URL: {url!r}")
    return f"{parts.scheme}://{parts.netloc}".lower()


def signin_message(origin: str, code: str, challenge: str) -> bytes:
    return f"{MESSAGE_PREFIX}\norigin={origin}\ncode={code}\nchallenge={challenge}".encode("ascii")


def pin_error(pin: str) -> str | None:
    """Why ``pin`` cannot be a card's authentication PIN (4 digits); None when it can."""
    if _PIN.fullmatch(pin):
        return None
    return "the PIN must be exactly 4 digits / 暗証番号は数字4桁です"


def signing_password_error(password: str) -> str | None:
    """The real card's rule for the signing password: 6–16 of A–Z and 0–9, with both."""
    if _SIGNING_PASSWORD.fullmatch(password):
        return None
    return (
        "the signing password must be 6-16 upper-case letters and digits, with at least one"
        " of each / 署名用パスワードは英大文字と数字を両方含む6〜16文字です"
    )
