"""RFC 9457 problem details: the one error format of every kiban HTTP API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
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
    """Raised by services and routes; rendered as problem details with a stable ``type``."""

    def __init__(
        self, status: int, slug: str, title: str, detail: str | None = None, **extensions: Any
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
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


def problem_response(request: Request, problem: Problem) -> Response:
    render_page: ProblemPage | None = getattr(request.app.state, "problem_page", None)
    if render_page is not None and _is_page_request(request):
        return render_page(request, problem)
    body = problem.model_dump(exclude_none=True)
    body.setdefault("instance", request.url.path)
    request_id = getattr(request.state, "request_id", None)
    if request_id:
        body["request_id"] = request_id
    headers = {"WWW-Authenticate": "Bearer"} if problem.status == 401 else None
    return JSONResponse(
        body, status_code=problem.status, media_type=PROBLEM_MEDIA_TYPE, headers=headers
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
    return problem_response(request, problem)


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
