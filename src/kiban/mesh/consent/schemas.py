"""What a provider's gateway sends to spend a consent, and what it and the auditors are
answered.

The gateway's payload is validated strictly and anything it does not name is refused: the
platform answers about the consent the exchange names, and about nothing else.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from kiban.mesh.consent.models import ConsentKind, ConsentStatus
from kiban.mesh.identifiers import CODE_MAX_LENGTH
from kiban.mesh.tracker.schemas import MemberField, ServiceField, SubsystemField

PATH_MAX_LENGTH = 4096


class ConsentUseIn(BaseModel):
    """The signed payload of ``POST /mesh/consents/use``: spend this consent for this exchange.

    ``consent`` is whatever the consumer put in ``Kiban-Consent``: a text that names no
    consent is an unknown consent, not a malformed request.  The purpose is compared as it
    is.  ``method`` and ``path`` (within the service, with its query) name the operation
    called; a consent to some operations only is spent only for a call that names one of them.
    """

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    provider: MemberField
    issued_at: int  # Unix seconds
    consent: Annotated[str, Field(min_length=1, max_length=64)]
    message_id: uuid.UUID  # the exchange's Kiban-Id
    client: SubsystemField
    service: ServiceField
    purpose: Annotated[str, Field(max_length=CODE_MAX_LENGTH)] | None
    method: Annotated[str, Field(min_length=1, max_length=8)] | None = None
    path: Annotated[str, Field(min_length=1, max_length=PATH_MAX_LENGTH)] | None = None


class ConsentSpent(BaseModel):
    """The consent is spent for the exchange; the answer must be about ``subject``."""

    consent: uuid.UUID
    subject: str = Field(description="The person at the provider: their 宛名番号")


class ConsentOut(BaseModel):
    """A consent as an auditor sees it: what was allowed, and what became of it."""

    consent: uuid.UUID
    subject: str = Field(description="The person: their 宛名番号 at the local government")
    consumer: str = Field(description="The consumer's subsystem")
    consumer_name: str | None = Field(description="The consumer's registered name")
    service: str
    service_title: str | None = Field(description="None when the service is not published")
    items: list[str] = Field(description='The operations it covers; ["*"] for the whole service')
    purpose: str
    explanation: str = Field(description="Why, in the consumer's words, as the person saw it")
    kind: ConsentKind
    status: ConsentStatus
    valid_from: datetime
    valid_until: date = Field(description="The last day it holds, Japan time")
    granted_at: datetime
    revoked_at: datetime | None
    revoked_by: str | None
    revocation_reason: str | None
    used_at: datetime | None = Field(description="When a one-time consent was spent")
    used_message_id: uuid.UUID | None = Field(description="The exchange that spent it")
    use_count: int
    last_used_at: datetime | None


class ConsentPage(BaseModel):
    total: int
    page: int
    per_page: int
    items: list[ConsentOut]
