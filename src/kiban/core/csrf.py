"""Cross-site request forgery protection for HTML forms.

Every browser gets a random ``kiban_csrf`` cookie; every form carries the same value in a
hidden field (``csrf_field`` in templates).  Another site can make a browser post a form to
kiban, but it can neither read the cookie nor set it, so it cannot send the matching field.
A foreign ``Origin`` header is refused too, for browsers that send one.

The cookie is HttpOnly and SameSite=Lax; pages never need to read it from a script.
"""

from __future__ import annotations

import hmac
import re
import secrets
from http.cookies import SimpleCookie

from fastapi import Depends, Request
from markupsafe import Markup, escape
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kiban.core.errors import ProblemError

CSRF_COOKIE = "kiban_csrf"
CSRF_FIELD = "csrf_token"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")


class CsrfFailed(ProblemError):
    def __init__(self, detail: str) -> None:
        super().__init__(
            403,
            "csrf-failed",
            "Form expired / フォームの有効期限が切れました",
            detail + " Reload the page and submit the form again."
            " / ページを再読み込みしてから、もう一度送信してください。",
        )


def _cookie_token(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"cookie":
            cookie: SimpleCookie = SimpleCookie()
            try:
                cookie.load(value.decode("latin-1"))
            except Exception:  # a malformed Cookie header is treated as no cookie
                return None
            morsel = cookie.get(CSRF_COOKIE)
            if morsel is not None and _TOKEN.match(morsel.value):
                return morsel.value
    return None


class CsrfCookieMiddleware:
    """Gives every browser its CSRF token; templates read it from ``request.state``."""

    def __init__(self, app: ASGIApp, *, secure: bool) -> None:
        self.app = app
        self.secure = secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = _cookie_token(scope)
        is_new = token is None
        token = token or secrets.token_urlsafe(32)
        scope.setdefault("state", {})["csrf_token"] = token

        async def send_with_cookie(message: Message) -> None:
            if is_new and message["type"] == "http.response.start":
                attributes = "Path=/; SameSite=Lax; HttpOnly"
                if self.secure:
                    attributes += "; Secure"
                message.setdefault("headers", [])
                message["headers"].append(
                    (b"set-cookie", f"{CSRF_COOKIE}={token}; {attributes}".encode("latin-1"))
                )
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def csrf_field(request: Request) -> Markup:
    """The hidden form field that proves a form was served by kiban to this browser."""
    token = getattr(request.state, "csrf_token", "")
    return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, escape(token))


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    settings = request.app.state.settings
    here = f"{request.url.scheme}://{request.url.netloc}"
    return origin in {here, settings.public_url}


async def verify_csrf(request: Request) -> None:
    """Refuse a form post that did not come from a form kiban served to this browser."""
    if not _same_origin(request):
        raise CsrfFailed("The form was sent from another site. / 他のサイトから送信されました。")
    cookie_token = request.cookies.get(CSRF_COOKIE, "")
    form = await request.form()  # Starlette caches it for the route's own Form parameters
    submitted = form.get(CSRF_FIELD)
    if not (
        isinstance(submitted, str)
        and _TOKEN.match(cookie_token)
        and hmac.compare_digest(submitted, cookie_token)
    ):
        raise CsrfFailed("The form's security token is missing or does not match.")


CsrfProtected = Depends(verify_csrf)
