"""The virtual card folder: PIN-encrypted keys, never overwritten, locked after 3 wrong PINs."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from sqlalchemy.orm import Session

from identity.ca.ca_support import MakeResident, years_ago
from kiban.core.config import Settings
from kiban.identity.ca.authority import Authority
from kiban.identity.card.issuance import issue_card
from kiban.identity.card.virtual import (
    AUTH_KEY_FILE,
    CARD_FILE,
    PIN_STATE_FILE,
    SIGN_KEY_FILE,
    CardError,
    CardLocked,
    VirtualCard,
    WrongPin,
)

FAST = 1_000  # KDF rounds for tests: the work factor is a parameter, not what is tested here


IssueCard = Callable[..., VirtualCard]


@pytest.fixture
def issue(
    db_session: Session,
    settings: Settings,
    authority: Authority,
    make_resident: MakeResident,
    tmp_path: Path,
) -> IssueCard:
    """Issues a new resident's card, PIN 4321 and signing password ABC123 unless told
    otherwise, into ``tmp_path / "card"`` unless given another folder."""

    def issue(
        directory: Path | None = None,
        *,
        pin: str = "4321",
        signing_password: str = "ABC123",
        **resident: object,
    ) -> VirtualCard:
        person = make_resident(**resident)
        folder = directory or tmp_path / "card"
        issue_card(
            db_session,
            settings,
            person.tenant_code,
            person.addressee_number,
            folder,
            pin=pin,
            signing_password=signing_password,
            actor="test",
            kdf_rounds=FAST,
        )
        return VirtualCard(folder)

    return issue


def test_card_folder_holds_encrypted_keys_and_the_chain(
    issue: IssueCard, authority: Authority, tmp_path: Path
) -> None:
    card = issue()
    folder = tmp_path / "card"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / AUTH_KEY_FILE).stat().st_mode) == 0o600
    with pytest.raises(ValueError, match=r"(?i)password|pkcs12"):  # no PIN, no key
        pkcs12.load_key_and_certificates((folder / AUTH_KEY_FILE).read_bytes(), None)
    key, certificate, chain = pkcs12.load_key_and_certificates(
        (folder / SIGN_KEY_FILE).read_bytes(), b"ABC123"
    )
    assert certificate is not None
    assert key is not None
    assert [c.subject for c in chain] == [authority.issuing.subject, authority.root.subject]
    metadata = json.loads((folder / CARD_FILE).read_text(encoding="utf-8"))
    assert metadata["authentication_serial"] == card.authentication_serial
    signature = card.sign("4321", b"hello")
    public_key = card.authentication_certificate.public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    public_key.verify(signature, b"hello", ec.ECDSA(hashes.SHA256()))


def test_a_child_card_has_no_signing_key(
    issue: IssueCard,
    tmp_path: Path,
) -> None:
    issue(birth_date=years_ago(10))
    assert not (tmp_path / "card" / SIGN_KEY_FILE).exists()
    assert json.loads((tmp_path / "card" / CARD_FILE).read_text())["signing_serial"] is None


def test_three_wrong_pins_lock_the_card(
    issue: IssueCard,
    tmp_path: Path,
) -> None:
    card = issue()
    with pytest.raises(WrongPin) as first:
        card.sign("0000", b"x")
    assert first.value.remaining == 2
    card.sign("4321", b"x")  # a right PIN resets the count, as on the real card
    assert card.remaining_attempts == 3
    for remaining in (2, 1):
        with pytest.raises(WrongPin) as wrong:
            card.sign("1111", b"x")
        assert wrong.value.remaining == remaining
    with pytest.raises(CardLocked):
        card.sign("2222", b"x")
    with pytest.raises(CardLocked):
        card.sign("4321", b"x")  # even the right PIN, once locked
    assert VirtualCard(tmp_path / "card").locked


def test_a_pin_that_is_not_four_digits_is_refused_without_counting(
    issue: IssueCard,
    tmp_path: Path,
) -> None:
    card = issue()
    for bad in ("", "123", "12345", "abcd", "１２３４"):
        with pytest.raises(CardError, match="4 digits"):
            card.sign(bad, b"x")
    assert card.remaining_attempts == 3


def test_a_missing_counter_reads_as_locked(
    issue: IssueCard,
    tmp_path: Path,
) -> None:
    card = issue()
    (tmp_path / "card" / PIN_STATE_FILE).unlink()
    with pytest.raises(CardLocked):
        card.sign("4321", b"x")


def test_an_existing_card_folder_is_never_overwritten(
    issue: IssueCard,
    tmp_path: Path,
) -> None:
    folder = tmp_path / "card"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    with pytest.raises(CardError, match="not empty"):
        issue(folder)
    assert (folder / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize(
    ("pin", "password"),
    [
        ("123", "ABC123"),
        ("12345", "ABC123"),
        ("4321", "abc123"),
        ("4321", "ABCDEF"),
        ("4321", "123456"),
        ("4321", "AB12"),
        ("4321", "A1" * 9),
    ],
)
def test_card_rules_for_pin_and_signing_password(
    issue: IssueCard,
    tmp_path: Path,
    pin: str,
    password: str,
) -> None:
    with pytest.raises(CardError):
        issue(pin=pin, signing_password=password)
    assert not (tmp_path / "card").exists()


def test_not_a_card_folder(tmp_path: Path) -> None:
    with pytest.raises(CardError, match="not a card folder"):
        VirtualCard(tmp_path)
    (tmp_path / CARD_FILE).write_text("{not json")
    (tmp_path / "auth.pem").write_text("nope")
    with pytest.raises(CardError, match="damaged"):
        VirtualCard(tmp_path)
