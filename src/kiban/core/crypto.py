"""Keyed hashes: how kiban finds a record by a 個人番号 without ever storing the number.

The key is ``Settings.secret_key`` or, when that is unset, a random key generated once into
``Settings.data_dir`` and readable by its owner only.  Without the key, a hash cannot be
reversed by trying every one of the 10^11 possible personal numbers.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import stat
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from kiban.core.config import Settings

SECRET_KEY_FILE = "secret_key"
_PERSONAL_NUMBER_PURPOSE = b"kiban/personal-number/v1"


class SecretKeyError(RuntimeError):
    """The generated secret key file cannot be used safely."""


def _read_key_file(path: Path) -> bytes:
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SecretKeyError(
            f"{path} can be read by other users; chmod 600 it / 秘密鍵ファイルの権限が広すぎます"
        )
    key = path.read_text(encoding="ascii").strip()
    if not key:
        raise SecretKeyError(f"{path} is empty / 秘密鍵ファイルが空です")
    return key.encode("ascii")


def _generate_key_file(path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as file:
            file.write(secrets.token_hex(32) + "\n")
        # A hard link is atomic and refuses to replace: when two processes race, both end up
        # reading the one key that won, never a half-written file.
        with contextlib.suppress(FileExistsError):
            os.link(draft, path)
    finally:
        draft.unlink()
    return _read_key_file(path)


def secret_key(settings: Settings) -> bytes:
    """The deployment's secret key: configured, or generated once into the data directory."""
    if settings.secret_key:
        return settings.secret_key.encode("utf-8")
    path = settings.data_dir / SECRET_KEY_FILE
    if path.exists():
        return _read_key_file(path)
    return _generate_key_file(path)


class PersonalNumberHasher:
    """HMAC-SHA256 of a 個人番号 under a sub-key of the secret key, as 64 hex digits."""

    def __init__(self, key: bytes) -> None:
        # A sub-key per purpose: the same secret never hashes two kinds of value alike.
        purpose_key = hmac.new(key, _PERSONAL_NUMBER_PURPOSE, hashlib.sha256).digest()
        self._template = hmac.new(purpose_key, digestmod=hashlib.sha256)

    def hash(self, personal_number: str) -> str:
        """The keyed hash of an already validated 12-digit personal number."""
        mac = self._template.copy()
        mac.update(personal_number.encode("ascii"))
        return mac.hexdigest()


def personal_number_hasher(settings: Settings) -> PersonalNumberHasher:
    return PersonalNumberHasher(secret_key(settings))


def purpose_key(settings: Settings, purpose: bytes) -> bytes:
    """A 32-byte key for one purpose, derived from the deployment's secret key (HKDF)."""
    return _derive(secret_key(settings), purpose)


@lru_cache(maxsize=64)
def _derive(secret: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret)
