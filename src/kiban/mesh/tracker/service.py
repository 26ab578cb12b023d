"""Receiving data-tracker records from the providers' gateways, reading them, hiding them.

Records arrive at least once: a gateway sends a batch again until the platform has answered
it, so a batch is stored whole or not at all, and a record already stored is counted as a
duplicate.  A record that comes again *different* under the same message id is not a resend:
it is refused, rather than dropped, so that reusing a message id can never make a use of a
person's data disappear from what they see.

A record may be hidden from the person through a day, while an investigation must not be
tipped off; from the next day (Japan time) it is shown again without anyone acting.  The
person is never told that anything is hidden; the provider's auditors see everything.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from kiban.core.audit import AuditOutcome, record_audit
from kiban.core.errors import NotFound, ProblemError
from kiban.identity.ca.service import JAPAN, Clock, as_utc, utc_now
from kiban.mesh.gateway.protocol import FRESHNESS
from kiban.mesh.identifiers import MemberClass, MemberId
from kiban.mesh.tracker.protocol import SignedBatch
from kiban.mesh.tracker.repository import DataUseQuery, DataUseRepository, DataUseView
from kiban.mesh.tracker.schemas import DataUseBatch, DataUseIn, Receipt

PORTAL_PAGE_SIZE = 50
_MAX_LISTED_ERRORS = 100


@dataclass(frozen=True, slots=True)
class RecordError:
    """What is wrong with a batch: the record (its index, None for the batch itself) and the
    field."""

    record: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = [f"record {self.record}"] if self.record is not None else []
        where += [self.field] if self.field else []
        return f"{', '.join(where) or 'the batch'}: {self.message}"


def records_problem(
    status: int, slug: str, title: str, errors: Sequence[RecordError]
) -> ProblemError:
    """A refused batch, naming the first fault in ``detail`` and the first hundred in
    ``errors``.  The values themselves are never repeated: they may be a person's."""
    listed = [
        {"record": error.record, "field": error.field, "message": error.message}
        for error in errors[:_MAX_LISTED_ERRORS]
    ]
    return ProblemError(status, slug, title, str(errors[0]), errors=listed)


def _invalid(errors: Sequence[RecordError]) -> ProblemError:
    return records_problem(
        400,
        "mesh/invalid-data-uses",
        "The records are not valid / 記録の内容が正しくありません",
        errors,
    )


def _validation_errors(error: ValidationError) -> list[RecordError]:
    found = []
    for item in error.errors(include_url=False, include_input=False):
        location = list(item["loc"])
        record = None
        if len(location) >= 2 and location[0] == "records" and isinstance(location[1], int):
            record, location = location[1], location[2:]
        field = ".".join(str(part) for part in location) or None
        found.append(RecordError(record, field, item["msg"]))
    return found


def japan_day(moment: datetime) -> date:
    return moment.astimezone(JAPAN).date()


@dataclass(frozen=True, slots=True)
class DataUsePageOf:
    """One page of records, newest first, and how many there are in all."""

    total: int
    page: int
    per_page: int
    items: list[DataUseView]

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


class TrackerService:
    def __init__(self, session: Session, *, now: Clock = utc_now) -> None:
        self.session = session
        self.now = now
        self.repository = DataUseRepository(session)

    # Receiving --------------------------------------------------------------------------

    def receive(self, signed: SignedBatch) -> Receipt:
        """Store the records of a batch whose signature holds, all of them or none."""
        now = self.now()
        batch = self._read(signed, now)
        rows: dict[str, tuple[int, dict[str, Any]]] = {}
        for index, record in enumerate(batch.records):
            row = _row(batch.provider, record, now)
            first = rows.setdefault(row["message_id"], (index, row))
            if first[1] is not row:
                _same_or_refuse(index, row, first[1])
        for message_id, stored in self.repository.stored(batch.provider, list(rows)).items():
            index, row = rows.pop(message_id)
            _same_or_refuse(index, row, {name: getattr(stored, name) for name in _FACTS})
        new = [row for _index, row in rows.values()]
        accepted = self.repository.insert_new(new) if new else 0
        # Whatever was not inserted is stored already: resent, repeated within the batch, or
        # written meanwhile by a twin delivery of the same batch.
        return Receipt(accepted=accepted, duplicates=len(batch.records) - accepted)

    def _read(self, signed: SignedBatch, now: datetime) -> DataUseBatch:
        """The signed batch, checked against its signer and, record by record, its provider."""
        try:
            batch = DataUseBatch.model_validate_json(signed.payload)
        except ValidationError as error:
            raise _invalid(_validation_errors(error)) from None
        signed.check_sender("the batch", batch.provider, batch.issued_at, now)
        foreign = [
            RecordError(index, "service", f"{record.service} is not a service of {batch.provider}")
            for index, record in enumerate(batch.records)
            if record.service.subsystem.member != batch.provider
        ]
        if foreign:
            raise records_problem(
                403,
                "mesh/not-the-providers-service",
                "Not the provider's service / 提供者のサービスではありません",
                foreign,
            )
        # What the schema cannot check: a time that has not come yet, beyond the clocks' skew.
        future = [
            RecordError(index, "used_at", "is in the future")
            for index, record in enumerate(batch.records)
            if record.used_at > now + timedelta(seconds=FRESHNESS)
        ]
        if future:
            raise _invalid(future)
        return batch

    # Reading ----------------------------------------------------------------------------

    def page(self, query: DataUseQuery, page: int, per_page: int) -> DataUsePageOf:
        items = self.repository.page(query, (page - 1) * per_page, per_page)
        return DataUsePageOf(self.repository.count(query), page, per_page, items)

    def of_resident(self, tenant_code: str, addressee_number: str, page: int) -> DataUsePageOf:
        """What the resident may see of the uses of their data at their local government."""
        query = DataUseQuery(
            provider=MemberId(MemberClass.LG, tenant_code),
            subject=addressee_number,
            visible_on=japan_day(self.now()),
        )
        return self.page(query, page, PORTAL_PAGE_SIZE)

    def stream(self, query: DataUseQuery) -> Iterator[DataUseView]:
        return self.repository.stream(query)

    # Hiding -----------------------------------------------------------------------------

    def hide(
        self,
        provider: MemberId,
        message_id: str,
        *,
        until: date,
        reason: str,
        actor: str,
        tenant_code: str | None = None,
    ) -> DataUseView:
        """Hide a record from the person through ``until`` (Japan time); hiding it again sets
        another day and reason."""
        now = self.now()
        if not reason.strip():
            raise ProblemError(
                400, "invalid-hiding", "Not hidden / 非表示にできません", "a reason is required"
            )
        if until < japan_day(now):
            raise ProblemError(
                400,
                "invalid-hiding",
                "Not hidden / 非表示にできません",
                f"{until} has passed (Japan time): a record is shown from the day after",
            )
        view = self.repository.view(provider, message_id)
        if view is None:
            raise NotFound(f"{provider} has no data-tracker record {message_id}")
        record = view.record
        previous = record.hidden_until
        record.hidden_until = until
        record.hidden_reason = reason.strip()
        record.hidden_by = actor
        record.hidden_at = now
        self.session.flush()
        record_audit(
            self.session,
            "mesh.data_use.hide",
            AuditOutcome.SUCCESS,
            actor=actor,
            tenant_code=tenant_code,
            subject=f"mesh:{provider}",
            details={
                "message_id": message_id,
                "until": until.isoformat(),
                "previous_until": previous.isoformat() if previous else None,
            },
            now=now,
        )
        return view


def _row(provider: MemberId, record: DataUseIn, received_at: datetime) -> dict[str, Any]:
    subsystem = record.service.subsystem
    return {
        "provider_class": provider.member_class.value,
        "provider_code": provider.code,
        "message_id": str(record.message_id),
        "subject": record.subject,
        "service_subsystem": subsystem.code,
        "service_code": record.service.code,
        "service_version": record.service.version or "",
        "client_class": record.client.member.member_class.value,
        "client_code": record.client.member.code,
        "client_subsystem": record.client.code,
        "user_id": record.user_id,
        "purpose": record.purpose,
        "legal_basis": record.legal_basis,
        "used_at": record.used_at.astimezone(UTC),
        "received_at": received_at,
    }


# What a record says happened: a record sent again must say the same.
_FACTS = (
    "subject",
    "service_subsystem",
    "service_code",
    "service_version",
    "client_class",
    "client_code",
    "client_subsystem",
    "user_id",
    "purpose",
    "legal_basis",
    "used_at",
)


def _same_or_refuse(index: int, row: Mapping[str, Any], stored: Mapping[str, Any]) -> None:
    """Nothing, if ``row`` is a resend of ``stored``; else a 409 naming the record."""
    if any(
        as_utc(row[name]) != as_utc(stored[name])
        if name == "used_at"
        else row[name] != stored[name]
        for name in _FACTS
    ):
        raise records_problem(
            409,
            "mesh/conflicting-data-use",
            "A different record has this message id / 同じ識別子の異なる記録があります",
            [
                RecordError(
                    index,
                    "message_id",
                    f"{row['message_id']} is recorded already with other facts:"
                    " a message id names one exchange",
                )
            ],
        )
