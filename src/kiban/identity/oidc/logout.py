"""RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).

The relying party sends the person back with the ID token it holds as ``id_token_hint``: it
proves which client asks and for whom.  The hint may have expired (people sign out long after
signing in) but must carry the provider's signature.  The browser session is ended only when
it is the hint's subject's; the person is then sent to a post-logout URI registered exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

from joserfc import jwt
from joserfc.errors import JoseError
from sqlalchemy.orm import Session

from kiban.core.config import Settings
from kiban.core.errors import ProblemError
from kiban.core.sessions import AuthSession
from kiban.identity.oidc.endpoints import Endpoints
from kiban.identity.oidc.keys import ALGORITHM, SigningKeys
from kiban.identity.oidc.models import OidcClient
from kiban.identity.oidc.repository import OidcRepository
from kiban.identity.oidc.subjects import Subjects, SubjectUnavailable, subject_reference


class InvalidLogoutRequest(ProblemError):
    def __init__(self, detail: str) -> None:
        super().__init__(
            400,
            "invalid-logout-request",
            "Invalid sign-out request / サインアウト要求が正しくありません",
            detail,
        )


@dataclass(frozen=True, slots=True)
class LogoutRequest:
    client: OidcClient
    sub: str
    post_logout_redirect_uri: str | None


class LogoutService:
    def __init__(self, session: Session, settings: Settings) -> None:
        self.session = session
        self.settings = settings
        self.repository = OidcRepository(session)

    def check(
        self,
        id_token_hint: str | None,
        client_id: str | None,
        post_logout_redirect_uri: str | None,
    ) -> LogoutRequest:
        if not id_token_hint:
            raise InvalidLogoutRequest("id_token_hint is required / id_token_hint が必要です")
        keys = SigningKeys(self.session, self.settings).verification_keys()
        try:
            claims = jwt.decode(id_token_hint, keys, algorithms=[ALGORITHM]).claims
        except (JoseError, ValueError):
            raise InvalidLogoutRequest(
                "id_token_hint is not an ID token kiban signed / 署名を確認できません"
            ) from None
        audience = claims.get("aud")
        if claims.get("iss") != Endpoints.of(self.settings).issuer or not isinstance(audience, str):
            raise InvalidLogoutRequest("id_token_hint was not issued here / 発行元が異なります")
        if client_id is not None and client_id != audience:
            raise InvalidLogoutRequest("client_id does not match id_token_hint")
        client = self.repository.client(audience)
        if client is None or client.disabled_at is not None:
            raise InvalidLogoutRequest("the client is not registered / 登録されていません")
        if (
            post_logout_redirect_uri is not None
            and post_logout_redirect_uri not in client.post_logout_redirect_uri_list
        ):
            raise InvalidLogoutRequest(
                "post_logout_redirect_uri is not registered for this client"
                " / 戻り先が登録されたものと一致しません"
            )
        return LogoutRequest(client, str(claims.get("sub")), post_logout_redirect_uri)

    def is_subject(self, request: LogoutRequest, auth_session: AuthSession) -> bool:
        """Whether the browser's session is the person the ID token names."""
        try:
            sub = Subjects(self.session, self.settings).pairwise_sub(
                request.client.client_id, subject_reference(auth_session)
            )
        except SubjectUnavailable:
            return False  # a session that cannot be matched to the hint is left alone
        return sub == request.sub
