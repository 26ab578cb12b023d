"""DEMO ONLY: the page that tells visitors how to sign in as the demo staff.

It exists only while the demo is on (``KIBAN_DEMO_WALLET``), like the demo wallet; otherwise
it is a 404, so a deployment without the demo shows no demo account.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from kiban.core.access import PublicAccess
from kiban.core.dependencies import DbSession
from kiban.core.errors import NotFound
from kiban.identity.accounts_web import render, request_settings
from kiban.identity.credentials import TOTP_INTERVAL
from kiban.identity.staff.demo import demo_password, demo_staff

router = APIRouter(
    dependencies=[PublicAccess], include_in_schema=False, default_response_class=HTMLResponse
)


@router.get("/demo/staff")
def demo_staff_page(request: Request, session: DbSession) -> Response:
    """DEMO ONLY: the demo tenants' staff accounts, their password and the codes to type now."""
    settings = request_settings(request)
    if not settings.demo_wallet:
        raise NotFound("The demo is not enabled here. / デモは無効です。")
    return render(
        request,
        "staff/demo.html",
        {
            "tenants": demo_staff(session, settings),
            "password": demo_password(settings),
            "interval": TOTP_INTERVAL,
        },
    )
