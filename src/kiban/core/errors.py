"""RFC 9457 problem details: the one error format of every kiban HTTP API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from kiban.core.logging import get_logger

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://kiban.example/problems/"

log = get_logger(__name__)


class Problem(BaseModel):
    """A problem details object (RFC 9457)."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None


class ProblemError(Exception):
    """Raised by services and routes; rendered as problem details with a stable ``type``.

    The request's transaction is rolled back, unless ``keep_changes`` is set: a refused
    sign-in must still leave its audit event and failure count behind, so errors that say
    "no" to a caller commit what was recorded before they were raised.
    """

    keep_changes: ClassVar[bool] = False

    def __init__(
        self,
        status: int,
        slug: str,
        title: str,
        detail: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.headers = headers
        self.extensions = extensions


class NotFound(ProblemError):
    def __init__(self, detail: str) -> None:
        super().__init__(404, "not-found", "Not found / 見つかりません", detail)


class Forbidden(ProblemError):
    def __init__(self, detail: str) -> None:
        super().__init__(403, "forbidden", "Forbidden / 権限がありません", detail)


class Unauthorized(ProblemError):
    def __init__(self, detail: str) -> None:
        super().__init__(401, "unauthorized", "Authentication required / 認証が必要です", detail)


class SignInRequired(ProblemError):
    """No suitable browser session; a page request is sent to ``/signin`` instead."""

    def __init__(self, detail: str) -> None:
        super().__init__(401, SIGN_IN_REQUIRED, "Sign-in required / サインインが必要です", detail)


class AuthenticationFailed(ProblemError):
    """Credentials were presented and refused; the failure's records are kept."""

    keep_changes = True

    def __init__(self, detail: str, *, slug: str = "authentication-failed") -> None:
        super().__init__(401, slug, "Authentication failed / 認証できませんでした", detail)


SIGN_IN_REQUIRED = "sign-in-required"
SIGN_IN_PATH = "/signin"


ProblemPage = Callable[[Request, Problem], Response]
"""Renders a problem as an HTML page, for people using the pages rather than programs."""


def serve_problems_as_pages(app: FastAPI, render: ProblemPage) -> None:
    """Answer page requests' errors with ``render``; API requests keep problem JSON."""
    app.state.problem_page = render


def _accepts_html(request: Request) -> bool:
    media_types = (
        part.split(";")[0].strip() for part in request.headers.get("accept", "").split(",")
    )
    return "text/html" in media_types


def _is_api_path(request: Request) -> bool:
    """Whether the path's first segment is that of a path the API describes (``/registry``)."""
    segment = request.url.path.strip("/").split("/")[0]
    api_paths: dict[str, Any] = request.app.openapi()["paths"]  # built once, then cached
    return any(path.strip("/").split("/")[0] == segment for path in api_paths)


def _is_page_request(request: Request) -> bool:
    """A route that answers HTML, or a browser asking outside the API for a path no route has."""
    route = request.scope.get("route")
    if isinstance(route, APIRoute):
        response_class = getattr(route.response_class, "value", route.response_class)
        return isinstance(response_class, type) and issubclass(response_class, HTMLResponse)
    return _accepts_html(request) and not _is_api_path(request)


def sign_in_redirect(request: Request) -> RedirectResponse:
    """To the sign-in page, which brings the person back to where they were going."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"{SIGN_IN_PATH}?next={quote(target, safe='')}", status_code=303)


def problem_response(
    request: Request, problem: Problem, headers: dict[str, str] | None = None
) -> Response:
    render_page: ProblemPage | None = getattr(request.app.state, "problem_page", None)
    if render_page is not None and _is_page_request(request):
        if problem.type == PROBLEM_TYPE_BASE + SIGN_IN_REQUIRED:
            return sign_in_redirect(request)
        page = render_page(request, problem)
        page.headers.update(headers or {})
        return page
    body = problem.model_dump(exclude_none=True)
    body.setdefault("instance", request.url.path)
    request_id = getattr(request.state, "request_id", None)
    if request_id:
        body["request_id"] = request_id
    all_headers = {"WWW-Authenticate": "Bearer"} if problem.status == 401 else {}
    all_headers.update(headers or {})
    return JSONResponse(
        body, status_code=problem.status, media_type=PROBLEM_MEDIA_TYPE, headers=all_headers
    )


def _on_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ProblemError)
    problem = Problem(
        type=PROBLEM_TYPE_BASE + exc.slug,
        title=exc.title,
        status=exc.status,
        detail=exc.detail,
        **exc.extensions,
    )
    return problem_response(request, problem, exc.headers)


def _on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"location": list(error.get("loc", ())), "message": error.get("msg", "")}
        for error in exc.errors()
    ]
    problem = Problem(
        type=PROBLEM_TYPE_BASE + "invalid-request",
        title="Invalid request / リクエストが不正です",
        status=422,
        detail="; ".join(f"{'.'.join(map(str, e['location']))}: {e['message']}" for e in errors),
        errors=errors,
    )
    return problem_response(request, problem)


def _on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    problem = Problem(title=str(exc.detail), status=exc.status_code)
    return problem_response(request, problem)


def _on_unexpected_error(request: Request, exc: Exception) -> Response:
    # The traceback goes to the log (with the request id), never to the caller.
    log.exception("unhandled_error", route=getattr(request.scope.get("route"), "path", None))
    problem = Problem(
        type=PROBLEM_TYPE_BASE + "internal-error",
        title="Internal server error / サーバー内部エラー",
        status=500,
        detail="The error has been logged; quote the request_id when reporting it.",
    )
    return problem_response(request, problem)


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected_error)
