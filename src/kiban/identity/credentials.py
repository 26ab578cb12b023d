"""Passwords and one-time codes (TOTP): how staff and business accounts prove who they are.

Both kinds of account sign in the same way, so this module holds everything they share:

* login ids, normalised one way (NFKC, lower case) so ``Suzuki`` and ``ｓｕｚｕｋｉ`` are one id;
* the password policy, argon2id hashes that are re-hashed when the parameters change, and a
  dummy verification for unknown ids so that timing does not tell which ids exist;
* TOTP (RFC 6238: 30 s, 6 digits, one step of clock drift either way) where a code, once used,
  cannot be used again: the last accepted time step is kept and only later steps count;
* TOTP secrets sealed with AES-GCM under a key derived from the deployment's secret key, bound
  to their account so that a sealed secret copied to another row does not open;
* the provisioning URI and its QR code (SVG) for authenticator apps;
* the sign-in procedure with its rate limit per address, lockout per account and audit events;
* the checks of what an operator or a person types for a new account (login id, password,
  name), and the one-time password handed over for an account.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING, Generic, TypeVar

import pyotp
import segno
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Boolean, DateTime, Integer, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from kiban.core.audit import AuditOutcome, record_audit
from kiban.core.config import Settings
from kiban.core.crypto import secret_key
from kiban.core.errors import AuthenticationFailed, ProblemError
from kiban.core.throttle import clear_failures, ensure_not_locked, record_failure, throttle

ISSUER = "kiban"
TOTP_INTERVAL = 30
TOTP_DIGITS = 6
TOTP_DRIFT_STEPS = 1
PASSWORD_MIN_LENGTH = 12
PASSWORD_MAX_LENGTH = 128
LOGIN_ID_MAX_LENGTH = 64
SETUP_TOKEN_LIFETIME = timedelta(minutes=10)
GENERATED_PASSWORD_BYTES = 12  # 16 characters of URL-safe base64
_TOTP_PURPOSE = b"kiban/totp-secret/v1"

# Letters, digits and . _ @ + - ; starting and ending with a letter or digit.  An e-mail
# address fits, as GビズID uses them, and so does a staff number such as ``s-0123``.
_LOGIN_ID = re.compile(r"[a-z0-9](?:[a-z0-9._@+-]{1,62}[a-z0-9])")
_CODE = re.compile(r"\d{6}")


class InvalidCredential(ValueError):
    """A login id, new password or name the policy refuses; the message says why, bilingually."""


@contextmanager
def invalid_credential_as(problem: Callable[[str], ProblemError]) -> Iterator[None]:
    """Report an InvalidCredential raised inside as ``problem``, a service's own 422, same words."""
    try:
        yield
    except InvalidCredential as error:
        raise problem(str(error)) from None


# Login ids and passwords ------------------------------------------------------------------


def normalize_login_id(text: str) -> str:
    """``text`` as a login id: NFKC, trimmed, lower case; InvalidCredential when it cannot be."""
    login_id = unicodedata.normalize("NFKC", text).strip().lower()
    if not _LOGIN_ID.fullmatch(login_id):
        raise InvalidCredential(
            "ログインIDは3〜64文字の英小文字・数字・記号(. _ @ + -)で、英数字で始まり英数字で"
            " 終わります。 / A login id is 3-64 letters, digits and . _ @ + -, starting and"
            " ending with a letter or digit."
        )
    return login_id


def sign_in_login_id(text: str) -> str:
    """A typed login id to look up and count failures by, even one that no account can have.

    An id that cannot be normalised is trimmed and cut to length rather than refused: the
    sign-in then fails like any unknown id, and its failures still count towards a lockout.
    """
    try:
        return normalize_login_id(text)
    except InvalidCredential:
        return text.strip().lower()[:LOGIN_ID_MAX_LENGTH]


def person_name(text: str, max_length: int) -> str:
    """``text`` as a person's name: white space folded, 1 to ``max_length`` printable characters."""
    name = " ".join(text.split())
    if not 1 <= len(name) <= max_length or not name.isprintable():
        raise InvalidCredential(
            f"氏名は1〜{max_length}文字です。 / A name is 1-{max_length} characters."
        )
    return name


PASSWORD_POLICY_TEXT = (
    f"{PASSWORD_MIN_LENGTH}文字以上{PASSWORD_MAX_LENGTH}文字以内で、ログインIDと同じものや"
    f"同じ文字の繰り返しは使えません。 / At least {PASSWORD_MIN_LENGTH} and at most"
    f" {PASSWORD_MAX_LENGTH} characters; not the login id and not one character repeated."
)


def check_password_policy(password: str, login_id: str) -> None:
    """Refuse a new password that is too short, too long, the login id or one repeated character.

    Length is what makes a password hard to guess (NIST SP 800-63B); composition rules are
    not imposed, and any character may be used, spaces included.
    """
    if not PASSWORD_MIN_LENGTH <= len(password) <= PASSWORD_MAX_LENGTH:
        raise InvalidCredential(PASSWORD_POLICY_TEXT)
    folded = unicodedata.normalize("NFKC", password).strip().lower()
    if folded == login_id or len(set(password)) == 1:
        raise InvalidCredential(PASSWORD_POLICY_TEXT)


def generate_password() -> str:
    """A one-time initial password, shown once to the person who hands it over."""
    return secrets.token_urlsafe(GENERATED_PASSWORD_BYTES)


_hasher = PasswordHasher()  # argon2id with argon2-cffi's current recommended parameters


@cache
def _dummy_hash() -> str:
    """Verified against when the login id is unknown, so that it costs as long as a real check.

    Made on first use, not at import: hashing takes a fifth of a second, which every ``kiban``
    command would otherwise pay.
    """
    return _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str, hasher: PasswordHasher = _hasher) -> str:
    return hasher.hash(password)


def verify_password(
    stored_hash: str | None, password: str, hasher: PasswordHasher = _hasher
) -> tuple[bool, str | None]:
    """Whether ``password`` matches, and a new hash when the stored one has outdated parameters.

    ``stored_hash`` None (an unknown login id) still spends the time of a verification.
    """
    try:
        hasher.verify(stored_hash or _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return False, None
    if stored_hash is None:
        return False, None
    return True, hasher.hash(password) if hasher.check_needs_rehash(stored_hash) else None


# TOTP -----------------------------------------------------------------------------------


def new_totp_secret() -> str:
    return pyotp.random_base32()


def time_step(now: datetime) -> int:
    return int(now.timestamp()) // TOTP_INTERVAL


def totp_code(secret: str, step: int) -> str:
    """The code of ``secret`` for the time step ``step`` (what an authenticator app shows)."""
    return pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_INTERVAL).generate_otp(step)


def verify_totp(secret: str, code: str, *, last_step: int | None, now: datetime) -> int | None:
    """The time step ``code`` belongs to, or None when it is wrong, stale or already used.

    Steps up to ``last_step`` (the last accepted one) are refused, so a code observed over a
    shoulder or replayed from a log cannot be used again, even within its own window.
    """
    code = unicodedata.normalize("NFKC", code).replace(" ", "").strip()
    if not _CODE.fullmatch(code):
        return None
    current = time_step(now)
    for step in range(current - TOTP_DRIFT_STEPS, current + TOTP_DRIFT_STEPS + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(totp_code(secret, step), code):
            return step
    return None


def provisioning_uri(secret: str, account_label: str) -> str:
    totp = pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_INTERVAL)
    return totp.provisioning_uri(name=account_label, issuer_name=ISSUER)


def qr_code_svg(uri: str) -> str:
    """The provisioning URI as an inline SVG QR code; pages show the secret beside it as text."""
    return str(segno.make(uri, error="m").svg_inline(scale=4, title="QRコード / QR code"))


class SecretBox:
    """AES-GCM under a key derived (HKDF-SHA256) from the deployment's secret key.

    The associated data names the account, so a sealed secret only opens for its own account.
    """

    def __init__(self, key: bytes) -> None:
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_TOTP_PURPOSE)
        self._aead = AESGCM(derived.derive(key))

    def seal(self, plaintext: str, context: str) -> str:
        nonce = secrets.token_bytes(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode("utf-8"), context.encode("utf-8"))
        return base64.urlsafe_b64encode(nonce + sealed).decode("ascii")

    def open(self, sealed: str, context: str) -> str:
        raw = base64.urlsafe_b64decode(sealed.encode("ascii"))
        return self._aead.decrypt(raw[:12], raw[12:], context.encode("utf-8")).decode("utf-8")


def totp_box(settings: Settings) -> SecretBox:
    return SecretBox(secret_key(settings))


# What accounts share ----------------------------------------------------------------------


class AccountStatus(StrEnum):
    ACTIVE = "active"
    SETUP_PENDING = "setup_pending"  # the first sign-in's set-up has not been finished
    DISABLED = "disabled"


class CredentialColumns:
    """The columns of an account that signs in with a password and TOTP (a model mixin)."""

    if TYPE_CHECKING:
        # Mapped by each account's model among its own columns (the migration lists it there);
        # declared here for the checks below.
        login_id: Mapped[str]

    password_hash: Mapped[str] = mapped_column(String(128))
    # A generated initial password (or an operator's reset) is changed at the next sign-in.
    password_must_change: Mapped[bool] = mapped_column(Boolean)
    totp_secret_sealed: Mapped[str | None] = mapped_column(String(128))
    totp_enrolled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    # The SHA-256 of the token that lets a first sign-in finish its set-up, and its expiry.
    setup_token_sha256: Mapped[str | None] = mapped_column(String(64))
    setup_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    def credential_context(self) -> str:
        """The account's reference, binding its sealed TOTP secret to it."""
        raise NotImplementedError

    @property
    def needs_setup(self) -> bool:
        return self.password_must_change or self.totp_enrolled_at is None

    @property
    def status(self) -> AccountStatus:
        if self.disabled_at is not None:
            return AccountStatus.DISABLED
        return AccountStatus.SETUP_PENDING if self.needs_setup else AccountStatus.ACTIVE

    def set_password(self, password: str) -> None:
        self.password_hash = hash_password(password)

    def pending_totp_secret(self, box: SecretBox) -> str:
        """The secret being enrolled, created on first use and kept until enrolment ends."""
        if self.totp_enrolled_at is not None:
            raise ValueError("TOTP is already enrolled")
        if self.totp_secret_sealed is None:
            self.totp_secret_sealed = box.seal(new_totp_secret(), self.credential_context())
        return box.open(self.totp_secret_sealed, self.credential_context())

    def reset_credentials(self, password: str) -> None:
        """An operator's reset: a new one-time password and TOTP to enrol again."""
        self.set_password(password)
        self.password_must_change = True
        self.totp_secret_sealed = None
        self.totp_enrolled_at = None
        self.totp_last_step = None
        self.setup_token_sha256 = None
        self.setup_expires_at = None

    def start_setup(self, now: datetime) -> str:
        """A new set-up token for this account (the only copy of its secret part)."""
        token = secrets.token_urlsafe(24)
        self.setup_token_sha256 = hashlib.sha256(token.encode("ascii")).hexdigest()
        self.setup_expires_at = now + SETUP_TOKEN_LIFETIME
        return token

    def setup_token_valid(self, token: str, now: datetime) -> bool:
        if self.setup_token_sha256 is None or self.setup_expires_at is None:
            return False
        expires = self.setup_expires_at
        if (expires if expires.tzinfo else expires.replace(tzinfo=UTC)) <= now:
            return False
        digest = hashlib.sha256(token.encode("utf-8")).hexdigest()
        return hmac.compare_digest(self.setup_token_sha256, digest)

    def finish_setup(
        self, box: SecretBox, code: str, new_password: str | None, now: datetime
    ) -> None:
        """Enrol TOTP with a first ``code`` and, when one must be chosen, set the new password."""
        if self.password_must_change:
            if new_password is None:
                raise InvalidCredential(PASSWORD_POLICY_TEXT)
            check_password_policy(new_password, self.login_id)
            if verify_password(self.password_hash, new_password)[0]:
                raise InvalidCredential(
                    "初期パスワードとは別のパスワードにしてください。"
                    " / Choose a password other than the initial one."
                )
        if self.totp_enrolled_at is None:
            step = verify_totp(self.pending_totp_secret(box), code, last_step=None, now=now)
            if step is None:
                raise InvalidCredential(
                    "確認コードが正しくありません。アプリに表示されている6桁を入力してください。"
                    " / The code is not right; enter the 6 digits your app shows."
                )
            self.totp_enrolled_at = now
            self.totp_last_step = step
        if new_password is not None and self.password_must_change:
            self.set_password(new_password)
            self.password_must_change = False
        self.setup_token_sha256 = None
        self.setup_expires_at = None


AccountT = TypeVar("AccountT", bound=CredentialColumns)


@dataclass(frozen=True, slots=True)
class IssuedPassword(Generic[AccountT]):
    """An account and the one-time password just issued for it, to be handed over."""

    account: AccountT
    password: str  # the only copy; shown once


@dataclass(frozen=True, slots=True)
class SignInPolicy:
    """The limits of one sign-in path; ``kind`` names its audit actions and throttle buckets."""

    kind: str  # "staff" or "business"
    ip_limit: int = 30
    ip_window: timedelta = timedelta(minutes=5)
    failure_limit: int = 5
    failure_window: timedelta = timedelta(minutes=15)
    lock_for: timedelta = timedelta(minutes=15)


class SignInResult(StrEnum):
    SIGNED_IN = "signed_in"
    SETUP_REQUIRED = "setup_required"  # the password was right; TOTP or a new password is due


@dataclass(frozen=True, slots=True)
class SignInOutcome(Generic[AccountT]):
    result: SignInResult
    account: AccountT


@dataclass(frozen=True, slots=True)
class SignInAttempt:
    ip: str
    login_key: str  # what the lockout counts by: the login id, with its tenant for staff
    password: str
    code: str
    tenant_code: str | None = None


def sign_in(
    session: Session,
    policy: SignInPolicy,
    attempt: SignInAttempt,
    account: AccountT | None,
    subject: str | None,
    box: SecretBox,
    *,
    now: datetime | None = None,
) -> SignInOutcome[AccountT]:
    """Check a password and code, counting and auditing every outcome, for ``account``.

    Refusals raise problems with ``keep_changes``, so that the failure count, the lock and
    the audit event are committed although the sign-in is refused.  ``subject`` is the
    account's reference for the audit trail (None for an unknown login id).
    """
    now = now or datetime.now(UTC)
    action = f"{policy.kind}.sign_in"
    account_bucket = f"{policy.kind}-signin:account:{attempt.login_key}"

    def audit(outcome: AuditOutcome, reason: str | None = None) -> None:
        record_audit(
            session,
            action,
            outcome,
            actor=subject,
            tenant_code=attempt.tenant_code,
            subject=subject,
            details={"reason": reason} if reason else None,
            now=now,
        )

    def refuse(reason: str) -> AuthenticationFailed:
        audit(AuditOutcome.FAILURE, reason)
        if record_failure(
            session,
            account_bucket,
            limit=policy.failure_limit,
            window=policy.failure_window,
            lock_for=policy.lock_for,
            now=now,
        ):
            audit(AuditOutcome.FAILURE, "locked_now")
        return AuthenticationFailed(
            "ログインID・パスワード・確認コードのいずれかが正しくありません。"
            " / The login id, password or code is not right."
        )

    try:
        throttle(
            session,
            f"{policy.kind}-signin:ip:{attempt.ip}",
            limit=policy.ip_limit,
            window=policy.ip_window,
            now=now,
        )
        ensure_not_locked(session, account_bucket, now=now)
    except ProblemError as refusal:
        audit(AuditOutcome.FAILURE, refusal.slug)
        raise
    usable = account is not None and account.disabled_at is None
    matches, new_hash = verify_password(
        account.password_hash if usable and account else None, attempt.password
    )
    if account is None or not usable or not matches:
        raise refuse("bad_password" if usable else "unknown_or_disabled")
    if new_hash is not None:
        account.password_hash = new_hash
    if account.needs_setup:
        clear_failures(session, account_bucket)
        audit(AuditOutcome.SUCCESS, "setup_required")
        return SignInOutcome(SignInResult.SETUP_REQUIRED, account)
    assert account.totp_secret_sealed is not None
    secret = box.open(account.totp_secret_sealed, account.credential_context())
    step = verify_totp(secret, attempt.code, last_step=account.totp_last_step, now=now)
    if step is None:
        raise refuse("bad_code")
    account.totp_last_step = step
    clear_failures(session, account_bucket)
    audit(AuditOutcome.SUCCESS)
    return SignInOutcome(SignInResult.SIGNED_IN, account)
