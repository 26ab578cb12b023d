"""A tenant's staff or API key can never act on another tenant, on any route.

The test walks every route of the application that has a ``{tenant_code}`` in its path, so a
new tenant route that forgets its access check fails here without anyone listing it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kiban.core.audit import AuditEvent
from kiban.core.csrf import CSRF_COOKIE
from kiban.core.database import Base
from kiban.mesh.providers.access import tenant_gateway_access
from kiban.tenants.service import TenantService

CHIYODA = "131016"  # the victim
HACHIOJI = "132012"  # the caller's own tenant
Fixture = Callable[..., Any]
_PARAMETER = re.compile(r"\{([^}:]+)(?::[^}]+)?\}")
# Values that pass the usual validation of each kind of path parameter, so that a route
# refuses for who calls it and not for a malformed path.
_SAMPLES = {"addressee_number": "0000000019", "household_number": "0000000019"}


def tenant_routes(app: FastAPI) -> list[tuple[str, str]]:
    routes: list[tuple[str, str]] = []
    for context in iter_route_contexts(app.router.routes):
        route = context.route
        if isinstance(route, APIRoute) and "{tenant_code}" in route.path:
            routes.extend((method, route.path) for method in sorted(route.methods or ()))
    return routes


def _gateway_only(app: FastAPI) -> set[str]:
    """The paths only the tenant's mesh gateway may call (no person, not even its staff)."""

    def needs(dependant: Dependant) -> bool:
        return dependant.call is tenant_gateway_access or any(
            needs(inner) for inner in dependant.dependencies
        )

    return {
        context.route.path
        for context in iter_route_contexts(app.router.routes)
        if isinstance(context.route, APIRoute) and needs(context.route.dependant)
    }


def _path(template: str) -> str:
    def sample(match: re.Match[str]) -> str:
        name = match.group(1)
        return CHIYODA if name == "tenant_code" else _SAMPLES.get(name, "0000000019")

    return _PARAMETER.sub(sample, template)


def _row_counts(db_session: Session) -> dict[str, int]:
    """Rows of every table a tenant route could write, audit trail and throttles aside."""
    skipped = {AuditEvent.__tablename__, "throttle_buckets", "auth_sessions"}
    return {
        table.name: db_session.scalar(select(func.count()).select_from(table)) or 0
        for table in Base.metadata.sorted_tables
        if table.name not in skipped
    }


def _call(client: TestClient, method: str, path: str, headers: dict[str, str]) -> int:
    token = client.cookies.get(CSRF_COOKIE) or ""
    if method in {"GET", "HEAD", "DELETE"}:
        response = client.request(method, path, headers=headers, follow_redirects=False)
    else:
        # A valid CSRF token and a plausible body: only the access check may refuse.
        response = client.request(
            method,
            path,
            headers=headers,
            data={"csrf_token": token, "roles": "admin", "login_id": "x", "name": "x"},
            follow_redirects=False,
        )
    return response.status_code


@pytest.fixture
def victim(db_session: Session, tenants: Any, make_staff: Fixture) -> Any:
    """千代田区 with an admin (who could reach everything), whose rows must stay untouched."""
    return make_staff("chiyoda-admin", ["admin"], tenant_code=CHIYODA)


def test_the_walk_reaches_the_tenant_routes(app: FastAPI) -> None:
    paths = {path for _method, path in tenant_routes(app)}
    assert "/tenants/{tenant_code}/residents" in paths
    assert "/tenants/{tenant_code}/staff" in paths


def test_staff_of_another_tenant_are_refused_everywhere(
    app: FastAPI,
    client: TestClient,
    db_session: Session,
    victim: Any,
    make_staff: Fixture,
    sign_in_page: Fixture,
) -> None:
    # Every role at once, so that only the tenant can be the reason for a refusal.
    intruder = make_staff(
        "hachioji-admin", ["admin", "clerk", "supervisor", "auditor"], tenant_code=HACHIOJI
    )
    assert sign_in_page(intruder).status_code == 303
    before = _row_counts(db_session)
    refused = {
        (method, path): _call(client, method, _path(path), {})
        for method, path in tenant_routes(app)
    }
    assert {route: status for route, status in refused.items() if status != 403} == {}
    assert _row_counts(db_session) == before


def test_api_keys_of_another_tenant_are_refused_everywhere(
    app: FastAPI, client: TestClient, db_session: Session, victim: Any
) -> None:
    token = TenantService(db_session).create_key(HACHIOJI, "intruder").token
    client.get("/staff/signin")  # a CSRF cookie, so that forms fail only on access
    before = _row_counts(db_session)
    headers = {"Authorization": f"Bearer {token}"}
    refused = {
        (method, path): _call(client, method, _path(path), headers)
        for method, path in tenant_routes(app)
    }
    assert {route: status for route, status in refused.items() if status != 403} == {}
    assert _row_counts(db_session) == before


def test_without_credentials_every_tenant_route_asks_for_them(
    app: FastAPI, client: TestClient, victim: Any
) -> None:
    client.get("/staff/signin")
    statuses = {
        (method, path): _call(client, method, _path(path), {})
        for method, path in tenant_routes(app)
    }
    # 401 for the API, a redirect to the sign-in page for pages.
    assert {route: status for route, status in statuses.items() if status not in {401, 303}} == {}


def test_the_tenants_own_admin_gets_past_the_access_check(
    app: FastAPI, client: TestClient, victim: Any, sign_in_page: Fixture
) -> None:
    """The refusals above are about the tenant: the same requests by its own admin pass —
    except the provider systems the tenant's mesh gateway alone calls, with an API key."""
    assert sign_in_page(victim).status_code == 303
    for_gateways = _gateway_only(app)
    statuses = {
        (method, path): _call(client, method, _path(path), {})
        for method, path in tenant_routes(app)
        if method == "GET" and path not in for_gateways
    }
    assert {route: status for route, status in statuses.items() if status in {401, 403}} == {}
