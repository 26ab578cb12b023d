"""Forms accept only posts that carry the token kiban gave the same browser."""

from __future__ import annotations

import re
from typing import Annotated

import pytest
from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse
from fastapi.testclient import TestClient

from kiban.core.access import PublicAccess
from kiban.core.csrf import CSRF_COOKIE, CsrfProtected, csrf_field


@pytest.fixture
def form_app(app: FastAPI) -> FastAPI:
    @app.get("/test/form", response_class=HTMLResponse, dependencies=[PublicAccess])
    def form(request: Request) -> str:
        return f'<form method="post">{csrf_field(request)}<input name="q"></form>'

    @app.post("/test/form", dependencies=[PublicAccess, CsrfProtected])
    def submit(q: Annotated[str, Form()]) -> dict[str, str]:
        return {"q": q}

    return app


def _token(client: TestClient) -> str:
    page = client.get("/test/form").text
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match is not None
    return match.group(1)


def test_a_form_served_by_kiban_can_be_posted(form_app: FastAPI, client: TestClient) -> None:
    token = _token(client)
    assert client.cookies[CSRF_COOKIE] == token
    response = client.post("/test/form", data={"q": "x", "csrf_token": token})
    assert response.status_code == 200
    assert response.json() == {"q": "x"}


@pytest.mark.parametrize("field", [None, "", "A" * 43])
def test_a_missing_or_foreign_token_is_refused(
    form_app: FastAPI, client: TestClient, field: str | None
) -> None:
    _token(client)
    data = {"q": "x"} | ({"csrf_token": field} if field is not None else {})
    response = client.post("/test/form", data=data)
    assert response.status_code == 403
    assert response.json()["type"].endswith("/csrf-failed")


def test_a_post_from_another_origin_is_refused(form_app: FastAPI, client: TestClient) -> None:
    token = _token(client)
    response = client.post(
        "/test/form",
        data={"q": "x", "csrf_token": token},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 403


def test_the_cookie_is_set_once_and_kept(form_app: FastAPI, client: TestClient) -> None:
    first = client.get("/test/form")
    assert "secure" in first.headers["set-cookie"].lower()
    assert "httponly" in first.headers["set-cookie"].lower()
    second = client.get("/test/form")
    assert "set-cookie" not in second.headers
