"""Security headers on every response.

- The content security policy allows kiban's own scripts, styles and images only, so an
  injected ``<script>`` or inline handler does not run, and ``frame-ancestors 'none'`` stops
  other sites framing the sign-in and consent pages to trick clicks.  ``form-action`` is left
  open: Chromium applies it to the redirect after a form, and the consent form must redirect
  to the relying party.
- ``Referrer-Policy: same-origin`` keeps authorization codes, sign-in codes and ``next``
  targets in URLs from leaking to other sites.  (Not ``no-referrer``: under it, browsers send
  ``Origin: null`` with kiban's own form posts, which the CSRF check must then refuse.)
- Responses other than the static assets are not stored by browsers or proxies: they may
  carry personal data.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
_ALWAYS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]
_HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        self.https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                headers.extend(_ALWAYS)
                if self.https:
                    headers.append(_HSTS)
                if not static and not any(name == b"cache-control" for name, _ in headers):
                    headers.append((b"cache-control", b"no-store"))
            await send(message)

        await self.app(scope, receive, send_with_headers)
