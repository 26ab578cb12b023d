"""OAuth's own error format (RFC 6749 §5.2, RFC 6750 §3), which relying-party libraries parse.

The token and userinfo endpoints answer with it rather than RFC 9457 problem details: that is
what the protocol specifies and what every OpenID client library expects.
"""

from __future__ import annotations

from starlette.responses import JSONResponse

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class OAuthError(Exception):
    """An error a relying party receives as ``{"error": …, "error_description": …}``.

    What the refusal revoked, audited and counted is committed with it (``keep_changes``).
    """

    keep_changes = True

    def __init__(
        self,
        error: str,
        description: str,
        *,
        status: int = 400,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status
        self.headers = headers or {}

    def response(self) -> JSONResponse:
        return JSONResponse(
            {"error": self.error, "error_description": self.description},
            status_code=self.status,
            headers={**NO_STORE, **self.headers},
        )


def invalid_client(description: str, *, basic: bool = False) -> OAuthError:
    # RFC 6749 §5.2: a client that tried HTTP Basic is told which scheme to use.
    headers = {"WWW-Authenticate": 'Basic realm="kiban"'} if basic else None
    return OAuthError("invalid_client", description, status=401, headers=headers)


def invalid_grant(description: str) -> OAuthError:
    return OAuthError("invalid_grant", description)


def invalid_request(description: str) -> OAuthError:
    return OAuthError("invalid_request", description)


def invalid_token(description: str) -> OAuthError:
    """RFC 6750 §3.1: the bearer token is missing, expired or revoked."""
    header = f'Bearer error="invalid_token", error_description="{description}"'
    return OAuthError(
        "invalid_token", description, status=401, headers={"WWW-Authenticate": header}
    )
