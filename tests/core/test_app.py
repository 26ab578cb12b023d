"""Cross-cutting HTTP behaviour: health, request ids, problem details, OpenAPI, access rules."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from kiban.core.access import ACCESS_DECLARATIONS


def test_healthz_checks_the_database(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_every_response_carries_a_request_id(client: TestClient) -> None:
    first = client.get("/healthz").headers["x-request-id"]
    second = client.get("/healthz").headers["x-request-id"]
    assert first
    assert second
    assert first != second


def test_a_safe_caller_request_id_is_kept_and_an_unsafe_one_replaced(client: TestClient) -> None:
    kept = client.get("/healthz", headers={"X-Request-ID": "caller-trace-0001"})
    assert kept.headers["x-request-id"] == "caller-trace-0001"
    replaced = client.get("/healthz", headers={"X-Request-ID": "bad\tid with spaces"})
    assert replaced.headers["x-request-id"] != "bad\tid with spaces"


def test_problem_bodies_name_the_request(client: TestClient) -> None:
    response = client.get("/no-such-route")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["request_id"] == response.headers["x-request-id"]


def test_openapi_is_3_1(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    assert "/registry/local-governments/{code}" in document["paths"]


def test_every_route_declares_who_may_call_it(app: FastAPI) -> None:
    # Included routers form a tree; iter_route_contexts flattens it with each route's
    # effective dependencies, its router's included.
    routes = [
        context.route
        for context in iter_route_contexts(app.routes)
        if isinstance(context.route, APIRoute)
    ]
    assert len(routes) > 10, "the walk must reach the included routers' routes"
    undeclared = [
        route.path
        for route in routes
        if not {dependency.call for dependency in route.dependant.dependencies}
        & ACCESS_DECLARATIONS
    ]
    assert undeclared == []


def test_pages_carry_security_headers_and_are_not_cached(client: TestClient) -> None:
    page = client.get("/")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["referrer-policy"] == "same-origin"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["cache-control"] == "no-store"
    stylesheet = client.get("/static/kiban.css")
    assert stylesheet.status_code == 200
    assert stylesheet.headers.get("cache-control") != "no-store"
