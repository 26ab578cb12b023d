"""The consent artefacts' HTTP API: the providers' gateways spend them, auditors read them.

``POST /mesh/consents/use`` is for providers' gateways only, recognised by their signature
as the data tracker's batches are (:func:`kiban.mesh.tracker.api.gateway_signature`).  A
local government's auditors read the consents its residents granted under
``/tenants/{tenant_code}/mesh/consents``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import ValidationError

from kiban.core.dependencies import DbSession
from kiban.core.errors import ProblemError
from kiban.core.tenancy import StaffRole, TenantCaller, require_roles
from kiban.identity.ca.service import as_utc
from kiban.mesh.consent.repository import ConsentQuery, ConsentView
from kiban.mesh.consent.schemas import ConsentOut, ConsentPage, ConsentSpent, ConsentUseIn
from kiban.mesh.consent.service import ConsentService
from kiban.mesh.gateway.consent import TYPE, USE_PATH
from kiban.mesh.tracker.api import Now, gateway_signature
from kiban.mesh.tracker.protocol import MEDIA_TYPE, SignedByGateway

router = APIRouter(tags=["mesh consent"])

MAX_USE_BODY = 16 * 1024  # a use names one consent: a few hundred bytes

ConsentUseSignature = Annotated[SignedByGateway, Depends(gateway_signature(TYPE, MAX_USE_BODY))]
ConsentReader = Annotated[
    TenantCaller,
    Depends(require_roles(StaffRole.AUDITOR, StaffRole.SUPERVISOR, StaffRole.ADMIN)),
]
"""Who reads a tenant's consents: its auditors, supervisors and administrators, and its keys."""


def _use(signed: SignedByGateway, now: datetime) -> ConsentUseIn:
    """The signed use, once it holds as a payload and is its signer's own."""
    try:
        use = ConsentUseIn.model_validate_json(signed.payload)
    except ValidationError as error:
        # The values are never repeated: a consent names a person.
        errors = [
            {"field": ".".join(str(part) for part in item["loc"]), "message": item["msg"]}
            for item in error.errors(include_url=False, include_input=False)
        ]
        raise ProblemError(
            400,
            "mesh/invalid-consent-use",
            "The consent use is not valid / 同意の利用要求が正しくありません",
            "; ".join(f"{item['field'] or 'the payload'}: {item['message']}" for item in errors),
            errors=errors,
        ) from None
    signed.check_sender("the consent use", use.provider, use.issued_at, now)
    return use


@router.post(
    USE_PATH,
    response_model=ConsentSpent,
    summary="Spend a consent for one exchange (a provider's gateway)",
    responses={403: {"description": "The consent does not allow the exchange: `detail` says why"}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {MEDIA_TYPE: {"schema": {"type": "string", "description": "compact JWS"}}},
        }
    },
)
def use_consent(signed: ConsentUseSignature, session: DbSession, now: Now) -> ConsentSpent:
    """同意の確認.  The provider's gateway asks, before its system sees the request, whether
    the consent the consumer names allows this exchange; if so the use is recorded (a one-time
    consent is spent) and the answer says whom the consent is about, so that the gateway can
    withhold an answer about anyone else."""
    return ConsentService(session, now=lambda: now).spend(_use(signed, now))


def _out(view: ConsentView, now: datetime) -> ConsentOut:
    consent = view.consent
    return ConsentOut(
        consent=uuid.UUID(consent.id),
        subject=consent.addressee_number,
        consumer=str(consent.consumer),
        consumer_name=view.consumer_name,
        service=str(consent.service),
        service_title=view.service_title,
        items=consent.operations,
        purpose=consent.purpose,
        explanation=consent.explanation,
        kind=consent.consent_kind,
        status=consent.status(now),
        valid_from=as_utc(consent.valid_from),
        valid_until=consent.valid_until,
        granted_at=as_utc(consent.granted_at),
        revoked_at=as_utc(consent.revoked_at) if consent.revoked_at else None,
        revoked_by=consent.revoked_by,
        revocation_reason=consent.revocation_reason,
        used_at=as_utc(consent.used_at) if consent.used_at else None,
        used_message_id=uuid.UUID(consent.used_message_id) if consent.used_message_id else None,
        use_count=consent.use_count,
        last_used_at=as_utc(consent.last_used_at) if consent.last_used_at else None,
    )


@router.get("/tenants/{tenant_code}/mesh/consents", response_model=ConsentPage)
def consents(
    caller: ConsentReader,
    session: DbSession,
    now: Now,
    subject: Annotated[
        str | None, Query(min_length=1, max_length=10, description="宛名番号: one person's")
    ] = None,
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=500)] = 100,
) -> ConsentPage:
    """同意の閲覧 (監査).  The consents the tenant's residents granted for its services,
    newest first, with their state now, their uses and their revocation."""
    found = ConsentService(session, now=lambda: now).page(
        ConsentQuery(caller.tenant_code, subject), page, per_page
    )
    return ConsentPage(
        total=found.total,
        page=found.page,
        per_page=found.per_page,
        items=[_out(view, now) for view in found.items],
    )
