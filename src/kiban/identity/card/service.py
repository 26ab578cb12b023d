"""Card sign-in, cross-device: the browser asks, the card holder's device approves.

1. The browser starts a request (``start``): a code people can type, a 32-byte challenge,
   five minutes to live, and a secret the browser keeps in a cookie.
2. The device fetches the request by code (``describe``), signs
   ``protocol.signin_message(origin, code, challenge)`` with the card's authentication key
   and posts the signature with the authentication certificate (``approve``).  The server
   checks the certificate (this CA, validity, kind, register, not revoked), the signature,
   the challenge's freshness and single use, and that the holder is still a resident.
3. The browser, which polls its request with the cookie's secret, picks up the approval
   once (``complete``) and gets a resident session bound to the record.

Every approval and refusal leaves an audit event; refusals count against the caller's
address and the request, and are raised with ``keep_changes`` so that those records stay.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import Response
from sqlalchemy.orm import Session

from kiban.core.audit import AuditOutcome, audit_row, record_audit
from kiban.core.config import Settings
from kiban.core.errors import ProblemError
from kiban.core.sessions import AuthSession, SubjectKind, new_session, set_session_cookie
from kiban.core.throttle import Locked, ensure_not_locked, record_failure, throttle
from kiban.identity.ca.models import CertificateKind
from kiban.identity.ca.service import (
    CertificateAuthorityService,
    CertificateRejected,
    Clock,
    resident_subject,
    utc_now,
)
from kiban.identity.card.models import SignInStatus
from kiban.identity.card.protocol import (
    new_challenge,
    new_code,
    origin_of,
    signin_message,
)
from kiban.identity.card.repository import SignIn, SignInRequestRepository
from kiban.residents.codes import ResidentStatus

SIGNIN_LIFETIME = timedelta(minutes=5)
# The browser polls every few seconds: an approval in the last moment can still be picked up.
COMPLETION_GRACE = timedelta(minutes=1)
# Approvals per address: a phone signs in a handful of times, never dozens a minute.
APPROVALS_PER_IP = 30
LOOKUPS_PER_IP = 120
IP_WINDOW = timedelta(minutes=1)
# Failed approvals per request before it is locked for the rest of its life.
FAILURES_PER_REQUEST = 5

CARD_AMR = ("swk", "pin")  # RFC 8176: a software-secured key, unlocked with a PIN
CARD_ACR = "aal3"

_NEXT_PATH = re.compile(r"^/(?![/\\])[^\x00-\x1f\x7f]*$")


def safe_next(next_path: str | None) -> str:
    """A local path to go to after sign-in; anything else (another site) becomes ``/``."""
    if next_path and len(next_path) <= 2048 and _NEXT_PATH.match(next_path):
        return next_path
    return "/"


def browser_secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", errors="replace")).hexdigest()


class SignInRefused(ProblemError):
    """The sign-in request or approval was refused; the refusal's records are kept."""

    keep_changes = True

    def __init__(self, status: int, slug: str, detail: str) -> None:
        super().__init__(
            status, slug, "Card sign-in refused / カードでのサインインができません", detail
        )


def _not_found() -> SignInRefused:
    return SignInRefused(
        404,
        "signin-request-not-found",
        "No sign-in request has this code / このコードのサインイン要求はありません",
    )


def _expired() -> SignInRefused:
    return SignInRefused(
        410,
        "signin-request-expired",
        "The sign-in request has expired; start again / 有効期限が切れました。やり直してください",
    )


def _used() -> SignInRefused:
    return SignInRefused(
        409,
        "signin-request-used",
        "The sign-in request has already been approved / このサインイン要求は承認済みです",
    )


@dataclass(frozen=True, slots=True)
class StartedSignIn:
    request: SignIn
    browser_secret: str  # goes into the browser's cookie; only its hash is stored


class CardSignInService:
    def __init__(self, session: Session, settings: Settings, *, now: Clock = utc_now) -> None:
        self.session = session
        self.settings = settings
        self.now = now
        self.requests = SignInRequestRepository(session)
        self.origin = origin_of(settings.public_url)

    # The browser ---------------------------------------------------------------------------

    def start(self, next_path: str | None) -> StartedSignIn:
        now = self.now()
        secret = secrets.token_urlsafe(32)
        while True:
            request = SignIn(
                code=new_code(),
                challenge=new_challenge(),
                browser_secret_sha256=browser_secret_hash(secret),
                next_path=safe_next(next_path),
                status=SignInStatus.PENDING.value,
                created_at=now,
                expires_at=now + SIGNIN_LIFETIME,
            )
            # A long-dead request gives up its code; a live one keeps it and we draw again.
            if self.requests.create(request, reusable_from=now - COMPLETION_GRACE):
                return StartedSignIn(request, secret)

    def for_browser(self, code: str, browser_secret: str | None) -> SignIn | None:
        """The request, if this browser started it (it holds the secret); else None."""
        request = self.requests.get(code)
        if request is None or browser_secret is None:
            return None
        if not hmac.compare_digest(
            browser_secret_hash(browser_secret), request.browser_secret_sha256
        ):
            return None
        return request

    def is_expired(self, request: SignIn) -> bool:
        return request.expires_at <= self.now()

    def complete(self, request: SignIn, response: Response) -> AuthSession:
        """The approved request's resident session, started once and only once."""
        now = self.now()
        if request.tenant_code is None or request.addressee_number is None:
            raise _used()
        started = new_session(
            kind=SubjectKind.RESIDENT,
            subject_id=f"{request.tenant_code}:{request.addressee_number}",
            acr=CARD_ACR,
            amr=CARD_AMR,
            tenant_code=request.tenant_code,
            settings=self.settings,
            now=now,
        )
        completed = self.requests.complete(
            request.code,
            now=now,
            deadline_after=now - COMPLETION_GRACE,
            session_row=started.row,
            audit_event=audit_row(
                "card.sign_in",
                AuditOutcome.SUCCESS,
                actor=f"certificate:{request.certificate_serial}",
                tenant_code=request.tenant_code,
                subject=resident_subject(request.tenant_code, request.addressee_number),
                details={"code": request.code},
                now=now,
            ),
        )
        if not completed:
            raise _used()
        set_session_cookie(response, started, self.settings)
        return started.auth_session()

    # The device ----------------------------------------------------------------------------

    def describe(self, code: str, *, client_ip: str) -> SignIn:
        """A pending request for the device to show and sign."""
        throttle(
            self.session, f"card-lookup:ip:{client_ip}", limit=LOOKUPS_PER_IP, window=IP_WINDOW
        )
        request = self.requests.get(code)
        if request is None:
            raise _not_found()
        if request.status != SignInStatus.PENDING:
            raise _used()
        if self.is_expired(request):
            raise _expired()
        return request

    def approve(
        self, code: str, certificate_pem: str, signature: bytes, *, client_ip: str
    ) -> SignIn:
        """Verify the device's answer and mark the request approved for its resident."""
        now = self.now()
        throttle(
            self.session,
            f"card-approve:ip:{client_ip}",
            limit=APPROVALS_PER_IP,
            window=IP_WINDOW,
            now=now,
        )
        bucket = f"card-approve:request:{code}"
        request, locked_until = self.requests.get_with_lock(code, bucket)
        if locked_until is not None and locked_until > now:
            raise Locked((locked_until - now).total_seconds())
        if request is None:
            ensure_not_locked(self.session, bucket, now=now)  # a lock may outlive its request
            raise self._refuse(None, _not_found())
        if request.status != SignInStatus.PENDING:
            raise self._refuse(bucket, _used())
        if request.expires_at <= now:
            raise self._refuse(bucket, _expired())
        try:
            certificate = x509.load_pem_x509_certificate(certificate_pem.encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            raise self._refuse(
                bucket,
                SignInRefused(
                    422,
                    "invalid-certificate",
                    "Not a PEM X.509 certificate / 証明書の形式が不正です",
                ),
            ) from None
        authority = CertificateAuthorityService(self.session, self.settings, now=lambda: now)
        try:
            record = authority.verify_holder_certificate(
                certificate, CertificateKind.AUTHENTICATION
            )
        except CertificateRejected as rejected:
            raise self._refuse(bucket, SignInRefused(401, rejected.slug, rejected.detail)) from None
        public_key = certificate.public_key()
        message = signin_message(self.origin, request.code, request.challenge)
        try:
            if not isinstance(public_key, ec.EllipticCurvePublicKey):
                raise InvalidSignature
            public_key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            raise self._refuse(
                bucket,
                SignInRefused(
                    401,
                    "invalid-signature",
                    "The signature does not match the certificate and challenge"
                    " / 署名を検証できません",
                ),
                serial=record.serial_number,
            ) from None
        tenant_code, addressee_number = record.tenant_code, record.addressee_number
        # An authentication certificate always names a resident record (a check constraint).
        assert tenant_code is not None
        assert addressee_number is not None
        if record.resident_status != ResidentStatus.RESIDENT:
            raise self._refuse(
                bucket,
                SignInRefused(
                    403,
                    "not-a-resident",
                    "The card holder is no longer a resident / 住民ではありません",
                ),
                serial=record.serial_number,
            )
        approved = self.requests.approve(
            request.code,
            now=now,
            tenant_code=tenant_code,
            addressee_number=addressee_number,
            certificate_serial=record.serial_number,
            audit_event=audit_row(
                "card.approve",
                AuditOutcome.SUCCESS,
                actor=f"certificate:{record.serial_number}",
                tenant_code=tenant_code,
                subject=resident_subject(tenant_code, addressee_number),
                details={"code": request.code},
                now=now,
            ),
        )
        if not approved:
            raise self._refuse(bucket, _used())  # a concurrent approval won
        # The request is single-use, so its failure count needs no clearing.
        return request

    def _refuse(
        self, bucket: str | None, refusal: SignInRefused, *, serial: str | None = None
    ) -> SignInRefused:
        """Count and record a refused approval; returns the error for the caller to raise."""
        now = self.now()
        if bucket is not None:
            record_failure(
                self.session,
                bucket,
                limit=FAILURES_PER_REQUEST,
                window=SIGNIN_LIFETIME,
                lock_for=SIGNIN_LIFETIME,
                now=now,
            )
        record_audit(
            self.session,
            "card.approve",
            AuditOutcome.FAILURE,
            actor=f"certificate:{serial}" if serial else None,
            details={"reason": refusal.slug, "code": bucket.rsplit(":", 1)[-1] if bucket else None},
            now=now,
        )
        return refusal
