"""A request id on every response and every log line of that request."""

from __future__ import annotations

import re
import time
import uuid

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kiban.core.logging import get_logger

REQUEST_ID_HEADER = "X-Request-ID"
# A caller's id is kept only when it cannot smuggle anything into logs or headers.
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,128}$")

log = get_logger("kiban.http")


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = (
            dict(scope["headers"]).get(REQUEST_ID_HEADER.lower().encode(), b"").decode("latin-1")
        )
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else str(uuid.uuid4())
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"].append((REQUEST_ID_HEADER.encode(), request_id.encode()))
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                log.info(
                    "request",
                    method=scope["method"],
                    route=_route_template(scope),
                    status=status,
                    duration_ms=round((time.perf_counter() - started) * 1000, 2),
                )


def _route_template(scope: Scope) -> str | None:
    """The matched route's template (``/tenants/{tenant_code}/residents/{addressee_number}``).

    Never the path itself: paths carry identifiers of people, and a path that matched no
    route may carry anything at all.
    """
    route = scope.get("route")
    template = getattr(route, "path", None)
    return template if isinstance(template, str) else None
