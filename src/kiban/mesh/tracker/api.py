"""The data tracker's HTTP API: the gateways' batches in, the auditors' view out.

``POST /mesh/tracker/records`` is for providers' gateways only, recognised by their
signature (:func:`gateway_signature`, which the gateways' other calls to the platform share).
A local government's auditors read the records of their own member, hidden ones included,
under ``/tenants/{tenant_code}/mesh/data-uses``; its supervisors and administrators may hide
one from the person for a while.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import AwareDatetime
from starlette.concurrency import run_in_threadpool

from kiban.core.access import declare_access
from kiban.core.dependencies import DbSession
from kiban.core.errors import ProblemError
from kiban.core.tenancy import StaffRole, TenantCaller, require_roles
from kiban.identity.ca.service import as_utc
from kiban.mesh.identifiers import MemberClass, MemberId
from kiban.mesh.tracker.protocol import (
    MAX_BODY,
    MEDIA_TYPE,
    PATH,
    TYPE,
    SignedBatch,
    SignedByGateway,
    mesh_problem,
    verify_gateway_jws,
)
from kiban.mesh.tracker.repository import DataUseQuery, DataUseView
from kiban.mesh.tracker.schemas import DataUseOut, DataUsePage, HideIn, Receipt
from kiban.mesh.tracker.service import TrackerService

router = APIRouter(tags=["mesh data tracker"])


def request_time() -> datetime:
    """The time a request is answered at; the tests set it to see hidden records come back."""
    return datetime.now(UTC)


Now = Annotated[datetime, Depends(request_time)]


@dataclass(frozen=True, slots=True)
class GatewaySignatureAccess:
    """A mesh gateway, by its signature: the body is a ``typ`` JWS of at most ``max_body``
    bytes, signed with a member's organisation certificate that holds now (not revoked, within
    its validity).  The access of the routes that providers' gateways call in their own name;
    the dependency answers who signed (:func:`verify_gateway_jws`)."""

    typ: str
    max_body: int

    async def __call__(self, request: Request, session: DbSession, now: Now) -> SignedByGateway:
        body = await self._body(request)
        # The certificate and the signature are checked in the thread pool, off the event loop.
        return await run_in_threadpool(
            verify_gateway_jws, session, request.app.state.settings, body, now, self.typ
        )

    async def _body(self, request: Request) -> bytes:
        media_type = request.headers.get("content-type", "").split(";")[0].strip()
        if media_type != MEDIA_TYPE:
            raise ProblemError(
                415,
                "unsupported-media-type",
                "Unsupported media type / 対応していない形式です",
                f"Send the signed body as {MEDIA_TYPE}.",
            )
        body = bytearray()
        async for chunk in request.stream():
            body.extend(chunk)
            if len(body) > self.max_body:
                raise mesh_problem(
                    "payload-too-large", f"the body is at most {self.max_body} bytes"
                )
        return bytes(body)


def gateway_signature(typ: str, max_body: int) -> GatewaySignatureAccess:
    """The declared access of a route that providers' gateways call with ``typ`` JWSs."""
    return declare_access(GatewaySignatureAccess(typ, max_body))


GatewaySignature = Annotated[SignedBatch, Depends(gateway_signature(TYPE, MAX_BODY))]
DataUseReader = Annotated[
    TenantCaller,
    Depends(require_roles(StaffRole.AUDITOR, StaffRole.SUPERVISOR, StaffRole.ADMIN)),
]
"""Who reads a tenant's records: its auditors, supervisors and administrators, and its keys."""
DataUseHider = Annotated[
    TenantCaller,
    Depends(require_roles(StaffRole.SUPERVISOR, StaffRole.ADMIN, api_keys=False)),
]
"""Who hides a record from the person: a supervisor or administrator, signed in, never a
program — it is a decision someone answers for."""


@router.post(
    PATH,
    response_model=Receipt,
    summary="Record uses of people's data (a provider's gateway)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {MEDIA_TYPE: {"schema": {"type": "string", "description": "compact JWS"}}},
        }
    },
)
def receive_data_uses(signed: GatewaySignature, session: DbSession, now: Now) -> Receipt:
    """情報提供等記録の受付.  A batch of at most 1000 records, signed by the provider's gateway,
    is stored whole or not at all; records stored already are counted as ``duplicates``, so a
    batch sent again changes nothing."""
    return TrackerService(session, now=lambda: now).receive(signed)


def _out(view: DataUseView) -> DataUseOut:
    record = view.record
    return DataUseOut(
        message_id=uuid.UUID(record.message_id),
        subject=record.subject,
        used_at=as_utc(record.used_at),
        received_at=as_utc(record.received_at),
        service=str(record.service),
        service_title=view.service_title,
        client=str(record.client),
        client_name=view.client_name,
        user_id=record.user_id,
        purpose=record.purpose,
        legal_basis=record.legal_basis,
        hidden_until=record.hidden_until,
        hidden_reason=record.hidden_reason,
        hidden_by=record.hidden_by,
        hidden_at=as_utc(record.hidden_at) if record.hidden_at else None,
    )


@router.get("/tenants/{tenant_code}/mesh/data-uses", response_model=DataUsePage)
def data_uses(
    caller: DataUseReader,
    session: DbSession,
    subject: Annotated[
        str | None, Query(min_length=1, max_length=64, description="宛名番号: one person's")
    ] = None,
    since: Annotated[
        AwareDatetime | None, Query(description="Used at or after (ISO 8601, with its offset)")
    ] = None,
    until: Annotated[
        AwareDatetime | None, Query(description="Used before (ISO 8601, with its offset)")
    ] = None,
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=500)] = 100,
) -> DataUsePage:
    """情報提供等記録の閲覧 (監査).  The uses of people's data that the tenant's systems answered
    on the mesh, newest first, hidden ones included with why and until when."""
    query = DataUseQuery(
        provider=MemberId(MemberClass.LG, caller.tenant_code),
        subject=subject,
        since=since.astimezone(UTC) if since else None,
        until=until.astimezone(UTC) if until else None,
    )
    found = TrackerService(session).page(query, page, per_page)
    return DataUsePage(
        total=found.total,
        page=found.page,
        per_page=found.per_page,
        items=[_out(view) for view in found.items],
    )


@router.post("/tenants/{tenant_code}/mesh/data-uses/{message_id}/hide", response_model=DataUseOut)
def hide_data_use(
    caller: DataUseHider,
    session: DbSession,
    now: Now,
    message_id: Annotated[uuid.UUID, Path(description="The record's message id")],
    hiding: HideIn,
) -> DataUseOut:
    """情報提供等記録の不開示.  Hide a record from the person through ``until`` (Japan time), for
    an investigation; from the next day it is shown again.  Auditors keep seeing it."""
    view = TrackerService(session, now=lambda: now).hide(
        MemberId(MemberClass.LG, caller.tenant_code),
        str(message_id),
        until=hiding.until,
        reason=hiding.reason,
        actor=caller.actor,
        tenant_code=caller.tenant_code,
    )
    return _out(view)
