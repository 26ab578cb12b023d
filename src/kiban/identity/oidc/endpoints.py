"""The provider's URLs, all under the issuer (``Settings.public_url``)."""

from __future__ import annotations

from dataclasses import dataclass

from kiban.core.config import Settings

AUTHORIZE_PATH = "/oidc/authorize"
TOKEN_PATH = "/oidc/token"
USERINFO_PATH = "/oidc/userinfo"
JWKS_PATH = "/oidc/jwks"
LOGOUT_PATH = "/oidc/logout"
DISCOVERY_PATH = "/.well-known/openid-configuration"
CONSENTS_PATH = "/account/consents"


@dataclass(frozen=True, slots=True)
class Endpoints:
    issuer: str

    @classmethod
    def of(cls, settings: Settings) -> Endpoints:
        return cls(settings.public_url.rstrip("/"))

    @property
    def authorization(self) -> str:
        return self.issuer + AUTHORIZE_PATH

    @property
    def token(self) -> str:
        return self.issuer + TOKEN_PATH

    @property
    def userinfo(self) -> str:
        return self.issuer + USERINFO_PATH

    @property
    def jwks(self) -> str:
        return self.issuer + JWKS_PATH

    @property
    def end_session(self) -> str:
        return self.issuer + LOGOUT_PATH
