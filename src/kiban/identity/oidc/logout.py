"""RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).

The relying party should send the person back with the ID token it holds as ``id_token_hint``:
it proves which client asks and for whom.  The hint may have expired (people sign out long
after signing in) but must carry the provider's signature.  The browser session is then ended
at once, and only when it is the hint's subject's.

The hint is only RECOMMENDED, so a relying party may name itself with ``client_id`` instead,
or send nothing at all.  Neither proves anything: any web page can link to the logout endpoint
with a public client id.  Without a hint the person is therefore asked first (the spec's §2
requires it), with a form that only kiban's own pages can post.

Wherever the person goes next, a ``post_logout_redirect_uri`` must be registered, exactly, for
the client that the hint or ``client_id`` names; with neither, there is no client to check it
against and it is refused.
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
    """A checked sign-out request.

    ``sub`` is the subject an ID token vouched for; None when no hint came, and then nobody
    but the person at the browser can say that they want to sign out.
    """

    client: OidcClient | None
    sub: str | None
    post_logout_redirect_uri: str | None

    @property
    def needs_confirmation(self) -> bool:
        return self.sub is None


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
        if id_token_hint:
            return self._hinted(id_token_hint, client_id, post_logout_redirect_uri)
        if client_id is None:
            if post_logout_redirect_uri is not None:
                raise InvalidLogoutRequest(
                    "post_logout_redirect_uri needs id_token_hint or client_id"
                    " / 戻り先を指定するには id_token_hint か client_id が必要です"
                )
            return LogoutRequest(None, None, None)
        client = self._registered_client(client_id)
        self._check_return_address(client, post_logout_redirect_uri)
        return LogoutRequest(client, None, post_logout_redirect_uri)

    def _hinted(
        self, id_token_hint: str, client_id: str | None, post_logout_redirect_uri: str | None
    ) -> LogoutRequest:
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
        client = self._registered_client(audience)
        self._check_return_address(client, post_logout_redirect_uri)
        return LogoutRequest(client, str(claims.get("sub")), post_logout_redirect_uri)

    def _registered_client(self, client_id: str) -> OidcClient:
        client = self.repository.client(client_id)
        if client is None or client.disabled_at is not None:
            raise InvalidLogoutRequest("the client is not registered / 登録されていません")
        return client

    @staticmethod
    def _check_return_address(client: OidcClient, post_logout_redirect_uri: str | None) -> None:
        if (
            post_logout_redirect_uri is not None
            and post_logout_redirect_uri not in client.post_logout_redirect_uri_list
        ):
            raise InvalidLogoutRequest(
                "post_logout_redirect_uri is not registered for this client"
                " / 戻り先が登録されたものと一致しません"
            )

    def is_subject(self, request: LogoutRequest, auth_session: AuthSession) -> bool:
        """Whether the browser's session is the person the ID token names."""
        if request.client is None or request.sub is None:
            return False  # no ID token named anyone
        try:
            sub = Subjects(self.session, self.settings).pairwise_sub(
                request.client.client_id, subject_reference(auth_session)
            )
        except SubjectUnavailable:
            return False  # a session that cannot be matched to the hint is left alone
        return sub == request.sub
