"""The resident's pages: a consumer's request for consent, and the consents they gave.

A consumer's site sends the resident to ``/me/consents/new?…`` (:mod:`.request`).  A link
that does not hold is answered with a page naming each faulty field, before anyone is asked
to sign in; one that holds asks the resident to sign in with their card and then shows, in
the registry's words, who asks for what, why, until when and how often.  Granting shows the
consent's number, which the resident gives the consumer: kiban never sends them back to the
consumer's site, so that no link can make it an open redirect.  ``/me/consents`` lists every
consent the resident gave, each revocable until it ends.  Times are shown in Japan time.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, overload

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.responses import Response

from kiban.core.access import PublicAccess
from kiban.core.csrf import CsrfProtected
from kiban.core.dependencies import DbSession
from kiban.core.errors import SignInRequired
from kiban.core.sessions import AuthSession, OptionalSession, ResidentSession, SubjectKind
from kiban.identity.ca.service import JAPAN, as_utc
from kiban.mesh.consent.models import ConsentKind, ConsentStatus
from kiban.mesh.consent.repository import ConsentView
from kiban.mesh.consent.request import InvalidConsentRequest, read_request
from kiban.mesh.consent.service import ConsentService, Item
from kiban.mesh.registry.repository import RegistryRepository
from kiban.mesh.tracker.api import Now
from kiban.mesh.tracker.pages import PAGE_PATH as DATA_USES_PATH
from kiban.mesh.tracker.service import japan_day
from kiban.web.templating import templates

LIST_PATH = "/me/consents"
NEW_PATH = LIST_PATH + "/new"
_NO_STORE = {"Cache-Control": "no-store"}

# How each state is named to the resident.
_STATUS_LABELS = {
    ConsentStatus.ACTIVE: ("有効", "Active"),
    ConsentStatus.PENDING: ("開始前", "Not valid yet"),
    ConsentStatus.USED: ("使用済み", "Used"),
    ConsentStatus.EXPIRED: ("期限切れ", "Expired"),
    ConsentStatus.REVOKED: ("取り消し済み", "Withdrawn"),
}

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


@overload
def moment_ja(moment: datetime) -> str: ...
@overload
def moment_ja(moment: datetime | None) -> str | None: ...
def moment_ja(moment: datetime | None) -> str | None:
    """A stored time as the resident reads it, in Japan time; None for none."""
    if moment is None:
        return None
    local = as_utc(moment).astimezone(JAPAN)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


@dataclass(frozen=True, slots=True)
class ConsentRow:
    """A consent as the resident's pages show it."""

    id: str
    status: ConsentStatus
    consumer_name: str | None
    consumer: str
    service_title: str | None
    service: str
    items: list[Item]
    purpose: str
    explanation: str
    kind: ConsentKind
    valid_until: date
    granted_at: str
    use_count: int
    last_used_at: str | None
    revoked_at: str | None

    @property
    def status_label(self) -> tuple[str, str]:
        return _STATUS_LABELS[self.status]

    @property
    def revocable(self) -> bool:
        return self.status in (ConsentStatus.ACTIVE, ConsentStatus.PENDING)


def _rows(service: ConsentService, views: list[ConsentView], now: datetime) -> list[ConsentRow]:
    items = service.items_of(views)
    rows = []
    for view in views:
        consent = view.consent
        rows.append(
            ConsentRow(
                id=consent.id,
                status=consent.status(now),
                consumer_name=view.consumer_name,
                consumer=str(consent.consumer),
                service_title=view.service_title,
                service=str(consent.service),
                items=items[consent.id],
                purpose=consent.purpose,
                explanation=consent.explanation,
                kind=consent.consent_kind,
                valid_until=consent.valid_until,
                granted_at=moment_ja(consent.granted_at),
                use_count=consent.use_count,
                last_used_at=moment_ja(consent.last_used_at),
                revoked_at=moment_ja(consent.revoked_at),
            )
        )
    return rows


def _person(auth_session: AuthSession) -> tuple[str, str]:
    """The signed-in resident's local government and 宛名番号."""
    tenant_code, _, addressee_number = auth_session.subject_id.partition(":")
    return tenant_code, addressee_number


def _government(service: ConsentService, tenant_code: str) -> str:
    government = RegistryRepository(service.session).local_government(tenant_code)
    return government.name if government else tenant_code


def _invalid(request: Request, invalid: InvalidConsentRequest) -> Response:
    return templates.TemplateResponse(
        request,
        "consent/invalid.html",
        {"errors": invalid.errors},
        status_code=400,
        headers=_NO_STORE,
    )


def _redirect(location: str) -> RedirectResponse:
    return RedirectResponse(location, status_code=303)


@router.get(NEW_PATH, dependencies=[PublicAccess])
def consent_request(
    request: Request, session: DbSession, auth_session: OptionalSession, now: Now
) -> Response:
    """A consumer's request for consent, shown to the resident to grant or decline.  The link
    is checked before the resident is asked to sign in, and again for their own local
    government once they have."""
    resident = auth_session if auth_session and auth_session.kind is SubjectKind.RESIDENT else None
    tenant_code = _person(resident)[0] if resident else None
    service = ConsentService(session, now=lambda: now)
    try:
        wanted = read_request(request.query_params.multi_items(), japan_day(now))
        offer = service.check(wanted, tenant_code)
    except InvalidConsentRequest as invalid:
        return _invalid(request, invalid)
    if tenant_code is None:
        # Answered with a redirect to /signin?next=<this link> (kiban.core.errors).
        raise SignInRequired("Sign in with your card to answer. / カードでサインインしてください。")
    return templates.TemplateResponse(
        request,
        "consent/request.html",
        {
            "offer": offer,
            "wanted": wanted,
            "government": _government(service, tenant_code),
            "action": LIST_PATH,
        },
        headers=_NO_STORE,
    )


@router.post(LIST_PATH, dependencies=[CsrfProtected])
def decide(
    request: Request,
    session: DbSession,
    auth_session: ResidentSession,
    now: Now,
    decision: Annotated[str, Form()] = "",
    consumer: Annotated[str, Form()] = "",
    service: Annotated[str, Form()] = "",
    items: Annotated[list[str] | None, Form()] = None,
    purpose: Annotated[str, Form()] = "",
    explanation: Annotated[str, Form()] = "",
    until: Annotated[str, Form()] = "",
    kind: Annotated[str, Form()] = "",
) -> Response:
    """The resident's answer.  The request is checked again, as the form sent it back: only
    what holds now is granted."""
    if decision != "grant":
        return _redirect(LIST_PATH + "?declined=1")
    fields = [
        ("consumer", consumer),
        ("service", service),
        *(("items", item) for item in items or []),
        ("purpose", purpose),
        ("explanation", explanation),
        ("until", until),
        ("kind", kind),
    ]
    tenant_code, addressee_number = _person(auth_session)
    try:
        wanted = read_request(fields, japan_day(now))
        consent_id = ConsentService(session, now=lambda: now).grant(
            wanted, tenant_code, addressee_number
        )
    except InvalidConsentRequest as invalid:
        return _invalid(request, invalid)
    return _redirect(f"{LIST_PATH}/{consent_id}?granted=1")


@router.get(LIST_PATH)
def my_consents(
    request: Request, session: DbSession, auth_session: ResidentSession, now: Now
) -> Response:
    """Every consent the resident gave, newest first: those that hold, then the others."""
    tenant_code, addressee_number = _person(auth_session)
    service = ConsentService(session, now=lambda: now)
    rows = _rows(service, service.of_resident(tenant_code, addressee_number), now)
    return templates.TemplateResponse(
        request,
        "consent/list.html",
        {
            "government": _government(service, tenant_code),
            "holding": [row for row in rows if row.revocable],
            "ended": [row for row in rows if not row.revocable],
            "declined": request.query_params.get("declined") == "1",
            "revoked": request.query_params.get("revoked") == "1",
            "data_uses": DATA_USES_PATH,
        },
        headers=_NO_STORE,
    )


@router.get(LIST_PATH + "/{consent_id}")
def my_consent(
    request: Request,
    session: DbSession,
    auth_session: ResidentSession,
    now: Now,
    consent_id: Annotated[uuid.UUID, Path(description="The consent's number")],
) -> Response:
    """One of the resident's consents, with the number the consumer needs."""
    tenant_code, addressee_number = _person(auth_session)
    service = ConsentService(session, now=lambda: now)
    view = service.one_of_resident(str(consent_id), tenant_code, addressee_number)
    return templates.TemplateResponse(
        request,
        "consent/detail.html",
        {
            "row": _rows(service, [view], now)[0],
            "government": _government(service, tenant_code),
            "granted": request.query_params.get("granted") == "1",
            "data_uses": DATA_USES_PATH,
        },
        headers=_NO_STORE,
    )


@router.post(LIST_PATH + "/{consent_id}/revoke", dependencies=[CsrfProtected])
def revoke(
    session: DbSession,
    auth_session: ResidentSession,
    now: Now,
    consent_id: Annotated[uuid.UUID, Path(description="The consent's number")],
) -> Response:
    """Withdraw a consent: from the very next request, it allows nothing."""
    tenant_code, addressee_number = _person(auth_session)
    ConsentService(session, now=lambda: now).revoke_own(
        str(consent_id), tenant_code, addressee_number
    )
    return _redirect(LIST_PATH + "?revoked=1")
