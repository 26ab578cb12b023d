"""Keyed hashes of personal numbers and the secret key behind them."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from kiban.core.config import Settings
from kiban.core.crypto import (
    SECRET_KEY_FILE,
    PersonalNumberHasher,
    SecretKeyError,
    personal_number_hasher,
    secret_key,
)


def test_a_key_is_generated_once_readable_by_its_owner_only(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "state")
    first = secret_key(settings)
    key_file = tmp_path / "state" / SECRET_KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert secret_key(settings) == first
    assert len(first) == 64
    assert list((tmp_path / "state").iterdir()) == [key_file]


def test_a_configured_key_wins_and_nothing_is_written(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret_key="configured")
    assert secret_key(settings) == b"configured"
    assert list(tmp_path.iterdir()) == []


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    key_file = tmp_path / SECRET_KEY_FILE
    key_file.write_text("0123456789abcdef\n", encoding="ascii")
    key_file.chmod(0o644)
    with pytest.raises(SecretKeyError, match="chmod 600"):
        secret_key(Settings(data_dir=tmp_path))


def test_hashes_are_keyed_stable_and_do_not_contain_the_number(tmp_path: Path) -> None:
    hasher = personal_number_hasher(Settings(data_dir=tmp_path))
    digest = hasher.hash("123456789018")
    assert digest == hasher.hash("123456789018")
    assert len(digest) == 64
    assert "123456789018" not in digest
    assert digest != hasher.hash("000000000019")
    assert digest != PersonalNumberHasher(b"another key").hash("123456789018")
