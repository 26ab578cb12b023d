"""What a provider's gateway sends (a batch of records) and what auditors are answered.

A batch is validated strictly, and anything it does not name is refused rather than dropped:
the platform keeps only what the contract lists, so a gateway that sent more — a body, a
name — is told so instead of having it silently discarded or, worse, kept.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
)

from kiban.mesh.identifiers import (
    InvalidMeshIdentifier,
    MemberId,
    ServiceId,
    SubsystemId,
    chosen_code,
)
from kiban.mesh.tracker.models import REASON_MAX_LENGTH, SUBJECT_MAX_LENGTH, TEXT_MAX_LENGTH

MAX_RECORDS = 1000


def _printable(text: str) -> str:
    if not text.isprintable():
        raise ValueError("must be printable text, without control characters or line breaks")
    if not text.strip():
        raise ValueError("must not be blank")
    return text


Parsed = TypeVar("Parsed", MemberId, SubsystemId, ServiceId)


def _identifier(kind: type[Parsed], what: str) -> PlainValidator:
    """A mesh identifier, given as its text and parsed; the refusal says which part is wrong."""

    def check(value: object) -> object:
        if not isinstance(value, str):
            raise ValueError(f"must be {what} as text")
        try:
            return kind.parse(value)
        except InvalidMeshIdentifier as error:
            raise ValueError(str(error)) from None

    return PlainValidator(check, json_schema_input_type=str)


def _purpose(code: str) -> str:
    try:
        return chosen_code("purpose", code)
    except InvalidMeshIdentifier as error:
        raise ValueError(str(error)) from None


Text = Annotated[str, Field(min_length=1, max_length=TEXT_MAX_LENGTH), AfterValidator(_printable)]
MemberField = Annotated[MemberId, _identifier(MemberId, "a member")]
ServiceField = Annotated[ServiceId, _identifier(ServiceId, "a service")]
SubsystemField = Annotated[SubsystemId, _identifier(SubsystemId, "a subsystem")]


class DataUseIn(BaseModel):
    """One answer that carried a person's data, as the provider's gateway records it."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    message_id: uuid.UUID  # the exchange's Kiban-Id
    subject: Annotated[
        str, Field(min_length=1, max_length=SUBJECT_MAX_LENGTH), AfterValidator(_printable)
    ]
    service: ServiceField
    client: SubsystemField
    user_id: Text | None
    purpose: Annotated[str, AfterValidator(_purpose)]
    legal_basis: Text
    used_at: AwareDatetime


class DataUseBatch(BaseModel):
    """The signed payload of ``POST /mesh/tracker/records``."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    provider: MemberField
    issued_at: int  # Unix seconds
    records: Annotated[list[DataUseIn], Field(min_length=1, max_length=MAX_RECORDS)]


class Receipt(BaseModel):
    """How many records of a batch were new, and how many were stored already (a resend)."""

    accepted: int
    duplicates: int


class DataUseOut(BaseModel):
    """A record as an auditor sees it: hidden or not, with why and by whom."""

    message_id: uuid.UUID
    subject: str = Field(description="The person at the provider: a local government's 宛名番号")
    used_at: datetime
    received_at: datetime
    service: str
    service_title: str | None = Field(description="None when the service is not published")
    client: str = Field(description="The consumer's subsystem")
    client_name: str | None = Field(description="The consumer's registered name")
    user_id: str | None = Field(description="The consumer's staff member who acted, if given")
    purpose: str
    legal_basis: str
    hidden_until: date | None = Field(
        description="Hidden from the person through this day (Japan time); shown from the next"
    )
    hidden_reason: str | None
    hidden_by: str | None
    hidden_at: datetime | None


class DataUsePage(BaseModel):
    total: int
    page: int
    per_page: int
    items: list[DataUseOut]


class HideIn(BaseModel):
    """Hide a record from the person through ``until`` (inclusive, Japan time)."""

    model_config = ConfigDict(extra="forbid")

    until: date = Field(description="The last day it is hidden; it is shown from the next day")
    reason: Annotated[
        str,
        Field(min_length=1, max_length=REASON_MAX_LENGTH, description="Why, for the auditors"),
        AfterValidator(_printable),
    ]
