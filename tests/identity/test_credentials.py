"""Passwords, TOTP codes, sealed secrets and login ids, as every account kind uses them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from cryptography.exceptions import InvalidTag
from hypothesis import given
from hypothesis import strategies as st

from kiban.identity.credentials import (
    InvalidCredential,
    SecretBox,
    check_password_policy,
    generate_password,
    hash_password,
    new_totp_secret,
    normalize_login_id,
    provisioning_uri,
    qr_code_svg,
    time_step,
    totp_code,
    verify_password,
    verify_totp,
)

NOW = datetime(2026, 11, 24, 9, 0, 10, tzinfo=UTC)


def test_a_password_verifies_and_a_wrong_one_does_not() -> None:
    stored = hash_password("correct horse battery")
    assert stored.startswith("$argon2id$")
    assert verify_password(stored, "correct horse battery") == (True, None)
    assert verify_password(stored, "correct horse batterY") == (False, None)


def test_an_unknown_account_never_verifies() -> None:
    assert verify_password(None, "anything at all") == (False, None)


def test_a_hash_with_outdated_parameters_is_replaced_on_success() -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)
    old = weak.hash("correct horse battery")
    matches, new_hash = verify_password(old, "correct horse battery")
    assert matches
    assert new_hash is not None
    assert new_hash != old
    assert verify_password(new_hash, "correct horse battery") == (True, None)
    # A wrong password never yields a new hash.
    assert verify_password(old, "wrong horse battery") == (False, None)


def test_codes_of_the_current_and_neighbouring_steps_are_accepted() -> None:
    secret = new_totp_secret()
    step = time_step(NOW)
    for offset in (-1, 0, 1):
        code = totp_code(secret, step + offset)
        assert verify_totp(secret, code, last_step=None, now=NOW) == step + offset
    for offset in (-3, -2, 2, 3):
        code = totp_code(secret, step + offset)
        if code not in {totp_code(secret, step + near) for near in (-1, 0, 1)}:
            assert verify_totp(secret, code, last_step=None, now=NOW) is None


def test_a_used_code_cannot_be_replayed_within_its_window() -> None:
    secret = new_totp_secret()
    step = time_step(NOW)
    code = totp_code(secret, step)
    assert verify_totp(secret, code, last_step=None, now=NOW) == step
    assert verify_totp(secret, code, last_step=step, now=NOW) is None
    # Still refused 29 seconds later, while the code is within the drift window.
    assert verify_totp(secret, code, last_step=step, now=NOW + timedelta(seconds=29)) is None
    # An older code is refused once a newer one was used.
    older = totp_code(secret, step - 1)
    if older != code:
        assert verify_totp(secret, older, last_step=step, now=NOW) is None
    # The next step's code still works.
    following = totp_code(secret, step + 1)
    assert verify_totp(secret, following, last_step=step, now=NOW) == step + 1


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "12 34 5x"])
def test_malformed_codes_are_refused(code: str) -> None:
    assert verify_totp(new_totp_secret(), code, last_step=None, now=NOW) is None


def test_full_width_and_spaced_codes_are_read() -> None:
    secret = new_totp_secret()
    code = totp_code(secret, time_step(NOW))
    spaced = f"{code[:3]} {code[3:]}".translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert verify_totp(secret, spaced, last_step=None, now=NOW) == time_step(NOW)


def test_a_sealed_secret_opens_only_with_its_key_and_account() -> None:
    box = SecretBox(b"deployment key one")
    secret = new_totp_secret()
    sealed = box.seal(secret, "staff:131016:abc")
    assert secret not in sealed
    assert box.seal(secret, "staff:131016:abc") != sealed  # a fresh nonce every time
    assert box.open(sealed, "staff:131016:abc") == secret
    with pytest.raises(InvalidTag):
        box.open(sealed, "staff:131016:another")
    with pytest.raises(InvalidTag):
        SecretBox(b"deployment key two").open(sealed, "staff:131016:abc")


@pytest.mark.parametrize(
    "password",
    ["short pass", "a" * 20, "suzuki.taro", "SUZUKI.TARO", "x" * 129],
)
def test_the_policy_refuses_weak_passwords(password: str) -> None:
    with pytest.raises(InvalidCredential, match="12"):
        check_password_policy(password, "suzuki.taro")


def test_the_policy_accepts_a_long_passphrase_and_generated_passwords() -> None:
    check_password_policy("ひまわり畑で会いましょう", "suzuki.taro")
    check_password_policy(generate_password(), "suzuki.taro")


def test_the_provisioning_uri_and_qr_code_name_the_issuer() -> None:
    secret = new_totp_secret()
    uri = provisioning_uri(secret, "131016:suzuki")
    assert uri.startswith("otpauth://totp/kiban:131016%3Asuzuki?")
    assert f"secret={secret}" in uri
    assert "issuer=kiban" in uri
    svg = qr_code_svg(uri)
    assert svg.startswith("<svg")
    assert "<title>" in svg


_LOGIN_ID = re.compile(r"[a-z0-9][a-z0-9._@+-]{1,62}[a-z0-9]")


@given(st.text(max_size=80))
def test_a_login_id_is_either_refused_or_normal(text: str) -> None:
    try:
        login_id = normalize_login_id(text)
    except InvalidCredential:
        return
    assert _LOGIN_ID.fullmatch(login_id)
    assert normalize_login_id(login_id) == login_id


@given(st.from_regex(_LOGIN_ID, fullmatch=True))
def test_every_well_formed_login_id_is_accepted_as_is(login_id: str) -> None:
    assert normalize_login_id(login_id) == login_id
    assert normalize_login_id(f"  {login_id.upper()} ") == login_id


@pytest.mark.parametrize("text", ["ab", "-abc", "abc.", "a b c", "すずき", "a" * 65])
def test_malformed_login_ids_are_refused(text: str) -> None:
    with pytest.raises(InvalidCredential):
        normalize_login_id(text)
