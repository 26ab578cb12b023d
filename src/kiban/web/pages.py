"""The home page, the static assets and the HTML error pages that every page shares."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response

from kiban.core.access import PublicAccess
from kiban.core.errors import Problem, serve_problems_as_pages
from kiban.web.templating import STATIC_DIR, templates

router = APIRouter(
    dependencies=[PublicAccess], include_in_schema=False, default_response_class=HTMLResponse
)

# What went wrong, in words for a person rather than a program; other statuses fall back
# to the class of error.
_ERROR_HEADINGS: dict[int, tuple[str, str]] = {
    400: ("入力内容を確認してください", "Please check what you entered"),
    404: ("ページが見つかりません", "Page not found"),
    405: ("この操作はできません", "This action is not allowed"),
    422: ("入力内容を確認してください", "Please check what you entered"),
}
_CLIENT_ERROR_HEADING = ("リクエストを処理できません", "The request cannot be handled")
_SERVER_ERROR_HEADING = ("システムエラーが発生しました", "Something went wrong on our side")


@router.get("/")
def home(request: Request) -> Response:
    return templates.TemplateResponse(request, "home.html")


def render_problem_page(request: Request, problem: Problem) -> Response:
    default = _SERVER_ERROR_HEADING if problem.status >= 500 else _CLIENT_ERROR_HEADING
    heading_ja, heading_en = _ERROR_HEADINGS.get(problem.status, default)
    return templates.TemplateResponse(
        request,
        "error.html",
        {
            "status": problem.status,
            "heading_ja": heading_ja,
            "heading_en": heading_en,
            # The title of Starlette's own errors is a bare reason phrase ("Not Found") that the
            # heading already says; the detail is what a route explained, if it did.
            "detail": problem.detail,
            "request_id": getattr(request.state, "request_id", None),
        },
        status_code=problem.status,
    )


def install_pages(app: FastAPI) -> None:
    """The home page, ``/static`` and HTML error pages for requests made by browsers."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    serve_problems_as_pages(app, render_problem_page)
