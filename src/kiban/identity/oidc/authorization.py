"""The authorization endpoint's logic: check the request, ask for consent, issue a code.

Errors about the client or its redirect URI are shown to the person and never redirected:
redirecting to an unverified URI would make kiban an open redirector (RFC 6749 §4.1.2.1).
Every other error goes back to the relying party as ``?error=…&state=…``.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from kiban.core.audit import AuditOutcome, record_audit
from kiban.core.config import Settings
from kiban.core.errors import ProblemError
from kiban.core.sessions import AuthSession, SubjectKind
from kiban.identity.oidc.endpoints import Endpoints
from kiban.identity.oidc.models import OidcAuthorizationCode, OidcClient, OidcConsent
from kiban.identity.oidc.repository import OidcRepository
from kiban.identity.oidc.scopes import OPENID, SUPPORTED_SCOPES, applicable, claim_scopes
from kiban.identity.oidc.subjects import Subjects, SubjectUnavailable, subject_reference

CODE_LIFETIME = timedelta(minutes=2)
_CODE_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")  # base64url of a SHA-256, unpadded
# The parameters a consent form carries back, to check the request again when it is sent.
REQUEST_PARAMETERS = (
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "prompt",
)


def code_sha256(code: str) -> str:
    return hashlib.sha256(code.encode("ascii", errors="replace")).hexdigest()


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class InvalidAuthorizationRequest(ProblemError):
    """Shown on a page: the relying party cannot be told, as its redirect URI is not trusted."""

    def __init__(self, detail: str) -> None:
        super().__init__(
            400,
            "invalid-authorization-request",
            "Invalid sign-in request / サインイン要求が正しくありません",
            detail,
        )


def _with_query(uri: str, params: Mapping[str, str | None]) -> str:
    query = urlencode({name: value for name, value in params.items() if value is not None})
    return f"{uri}{'&' if '?' in uri else '?'}{query}"


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    client: OidcClient
    redirect_uri: str
    scopes: list[str]
    state: str | None
    nonce: str | None
    code_challenge: str
    prompt: str | None
    parameters: dict[str, str]

    def location(self, issuer: str, **params: str | None) -> str:
        # RFC 9207: ``iss`` tells the client which provider answered.
        return _with_query(self.redirect_uri, {**params, "state": self.state, "iss": issuer})


class RedirectError(Exception):
    """An error the relying party receives at its redirect URI."""

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


def parse_request(
    repository: OidcRepository, params: Mapping[str, str], issuer: str
) -> AuthorizationRequest:
    client_id = params.get("client_id", "")
    client = repository.client(client_id) if client_id else None
    if client is None or client.disabled_at is not None:
        raise InvalidAuthorizationRequest(
            "The service is not registered with kiban. / このサービスは登録されていません。"
        )
    redirect_uri = params.get("redirect_uri", "")
    if redirect_uri not in client.redirect_uri_list:
        raise InvalidAuthorizationRequest(
            "The return address is not the one the service registered."
            " / 戻り先が登録されたものと一致しません。"
        )
    state = params.get("state") or None
    partial = AuthorizationRequest(client, redirect_uri, [], state, None, "", None, {})

    def refuse(error: str, description: str) -> RedirectError:
        return RedirectError(partial.location(issuer, error=error, error_description=description))

    if params.get("response_type") != "code":
        raise refuse("unsupported_response_type", "only response_type=code is supported")
    if params.get("response_mode", "query") != "query":
        raise refuse("invalid_request", "only response_mode=query is supported")
    if "request" in params or "request_uri" in params:
        raise refuse("request_not_supported", "request objects are not supported")
    requested = params.get("scope", "").split()
    if OPENID not in requested:
        raise refuse("invalid_scope", "the scope must include openid")
    unknown = [scope for scope in requested if scope not in SUPPORTED_SCOPES]
    if unknown:
        raise refuse("invalid_scope", f"unknown scope: {' '.join(unknown)}")
    not_allowed = [scope for scope in requested if scope not in client.scopes]
    if not_allowed:
        raise refuse("invalid_scope", f"scope not registered for this client: {not_allowed[0]}")
    challenge = params.get("code_challenge", "")
    if not challenge:
        raise refuse("invalid_request", "PKCE is required: send code_challenge")
    if params.get("code_challenge_method") != "S256":
        raise refuse("invalid_request", "code_challenge_method must be S256 (plain is refused)")
    if not _CODE_CHALLENGE.match(challenge):
        raise refuse("invalid_request", "code_challenge must be a base64url SHA-256")
    nonce = params.get("nonce") or None
    if (state and len(state) > 512) or (nonce and len(nonce) > 256):
        raise refuse("invalid_request", "state or nonce is too long")
    prompt = params.get("prompt") or None
    if prompt not in (None, "none", "consent"):
        raise refuse("invalid_request", "prompt may be none or consent")
    return AuthorizationRequest(
        client=client,
        redirect_uri=redirect_uri,
        scopes=[scope for scope in SUPPORTED_SCOPES if scope in requested],
        state=state,
        nonce=nonce,
        code_challenge=challenge,
        prompt=prompt,
        parameters={name: params[name] for name in REQUEST_PARAMETERS if params.get(name)},
    )


class AuthorizationService:
    def __init__(self, session: Session, settings: Settings) -> None:
        self.session = session
        self.repository = OidcRepository(session)
        self.subjects = Subjects(session, settings)
        self.issuer = Endpoints.of(settings).issuer

    def parse(self, params: Mapping[str, str]) -> AuthorizationRequest:
        return parse_request(self.repository, params, self.issuer)

    def scopes_for(self, auth_session: AuthSession, request: AuthorizationRequest) -> list[str]:
        """The requested scopes that apply to who signed in; staff cannot sign in to RPs."""
        if auth_session.kind is SubjectKind.STAFF:
            raise RedirectError(
                request.location(
                    self.issuer,
                    error="access_denied",
                    error_description="staff accounts cannot sign in to relying parties",
                )
            )
        return applicable(request.scopes, auth_session.kind)

    def consent_needed(self, auth_session: AuthSession, request: AuthorizationRequest) -> bool:
        """Whether personal data is asked for that the subject has not agreed to release."""
        wanted = set(claim_scopes(self.scopes_for(auth_session, request)))
        if not wanted:
            return False
        if request.prompt == "consent":
            return True
        consent = self.repository.consent(subject_reference(auth_session), request.client.client_id)
        return consent is None or not wanted <= set(consent.scope.split())

    def refuse(self, auth_session: AuthSession, request: AuthorizationRequest) -> str:
        """The person declined: the relying party is told ``access_denied``."""
        record_audit(
            self.session,
            "oidc.consent.refuse",
            AuditOutcome.DENIED,
            actor=subject_reference(auth_session),
            subject=subject_reference(auth_session),
            tenant_code=auth_session.tenant_code,
            details={"client_id": request.client.client_id, "scope": " ".join(request.scopes)},
        )
        return request.location(
            self.issuer, error="access_denied", error_description="the person declined"
        )

    def error_location(self, request: AuthorizationRequest, error: str, description: str) -> str:
        return request.location(self.issuer, error=error, error_description=description)

    def approve(
        self,
        auth_session: AuthSession,
        request: AuthorizationRequest,
        *,
        consented: bool,
        now: datetime | None = None,
    ) -> str:
        """Issue a code (remembering the consent just given) and say where to send it."""
        now = now or datetime.now(UTC)
        subject = subject_reference(auth_session)
        scopes = self.scopes_for(auth_session, request)
        try:
            sub = self.subjects.pairwise_sub(request.client.client_id, subject)
        except SubjectUnavailable as error:
            return self.error_location(request, "access_denied", str(error))
        if consented:
            self._remember(auth_session, request.client, scopes, now)
        code = secrets.token_urlsafe(32)
        self.repository.add(
            OidcAuthorizationCode(
                code_sha256=code_sha256(code),
                client_id=request.client.client_id,
                subject=subject,
                sub=sub,
                redirect_uri=request.redirect_uri,
                scope=" ".join(scopes),
                nonce=request.nonce,
                code_challenge=request.code_challenge,
                acr=auth_session.acr,
                amr=auth_session.amr,
                auth_time=auth_session.auth_time,
                created_at=now,
                expires_at=now + CODE_LIFETIME,
            )
        )
        return request.location(self.issuer, code=code)

    def _remember(
        self, auth_session: AuthSession, client: OidcClient, scopes: list[str], now: datetime
    ) -> None:
        subject = subject_reference(auth_session)
        granted = claim_scopes(scopes)
        consent = self.repository.consent(subject, client.client_id)
        if consent is None:
            self.repository.add(
                OidcConsent(
                    subject=subject,
                    client_id=client.client_id,
                    scope=" ".join(granted),
                    granted_at=now,
                )
            )
        else:
            consent.scope = " ".join(claim_scopes(set(granted) | set(consent.scope.split())))
            consent.granted_at = now
        record_audit(
            self.session,
            "oidc.consent.grant",
            AuditOutcome.SUCCESS,
            actor=subject,
            subject=subject,
            tenant_code=auth_session.tenant_code,
            details={"client_id": client.client_id, "scope": " ".join(granted)},
            now=now,
        )


class ConsentService:
    """The consents a person has given, as they see and revoke them."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.repository = OidcRepository(session)

    def of(self, auth_session: AuthSession) -> list[tuple[OidcConsent, OidcClient]]:
        return self.repository.consents_of(subject_reference(auth_session))

    def revoke(self, auth_session: AuthSession, client_id: str) -> OidcClient | None:
        """Forget the consent and end every token the client holds for the person."""
        subject = subject_reference(auth_session)
        consent = self.repository.consent(subject, client_id)
        if consent is None:
            return None
        client = self.repository.client(client_id)
        now = datetime.now(UTC)
        self.repository.delete_consent(consent)
        self.repository.revoke_grants_of(subject, client_id, now)
        record_audit(
            self.session,
            "oidc.consent.revoke",
            AuditOutcome.SUCCESS,
            actor=subject,
            subject=subject,
            tenant_code=auth_session.tenant_code,
            details={"client_id": client_id},
            now=now,
        )
        return client
