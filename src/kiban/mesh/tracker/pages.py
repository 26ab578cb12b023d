"""The resident's page: who used my data, when and why (わたしの情報の利用記録).

A resident signed in with their card sees the uses of their data that their local
government's systems answered on the mesh, newest first, fifty to a page.  A record hidden
for an investigation is simply not there — the page never says that anything is hidden — and
appears by itself once its day has passed.  Times are shown in Japan time.  Without a
session the person is sent to sign in, and brought back here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from kiban.core.dependencies import DbSession
from kiban.core.sessions import ResidentSession
from kiban.identity.ca.service import JAPAN, as_utc
from kiban.mesh.registry.repository import RegistryRepository
from kiban.mesh.tracker.api import Now
from kiban.mesh.tracker.repository import DataUseView
from kiban.mesh.tracker.service import TrackerService
from kiban.web.templating import templates

PAGE_PATH = "/me/data-uses"
_WEEKDAYS = "月火水木金土日"

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


@dataclass(frozen=True, slots=True)
class UseRow:
    """A record as the page shows it."""

    used_at: datetime  # Japan time
    client_name: str | None
    client: str
    service_title: str | None
    service: str
    purpose: str
    legal_basis: str

    @property
    def when_ja(self) -> str:
        moment = self.used_at
        weekday = _WEEKDAYS[moment.weekday()]
        return f"{moment.year}年{moment.month}月{moment.day}日（{weekday}）{moment:%H:%M}"


def _row(view: DataUseView) -> UseRow:
    record = view.record
    return UseRow(
        used_at=as_utc(record.used_at).astimezone(JAPAN),
        client_name=view.client_name,
        client=str(record.client),
        service_title=view.service_title,
        service=str(record.service),
        purpose=record.purpose,
        legal_basis=record.legal_basis,
    )


@router.get(PAGE_PATH)
def my_data_uses(
    request: Request,
    session: DbSession,
    auth_session: ResidentSession,
    now: Now,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    """The signed-in resident's own records, as their local government keeps them."""
    tenant_code, _, addressee_number = auth_session.subject_id.partition(":")
    found = TrackerService(session, now=lambda: now).of_resident(
        tenant_code, addressee_number, page
    )
    government = RegistryRepository(session).local_government(tenant_code)
    return templates.TemplateResponse(
        request,
        "tracker/data_uses.html",
        {
            "government": government.name if government else tenant_code,
            "found": found,
            "rows": [_row(view) for view in found.items],
            "first": (found.page - 1) * found.per_page + 1,
            "path": PAGE_PATH,
        },
    )
