"""Granting, reading, revoking and spending consent artefacts.

A consumer's request is checked against the registry before the resident sees it: an
approved consumer, a published service of the resident's own local government, operations its
OpenAPI document describes.  What the resident grants is kept as it was shown to them.

Spending is the provider's gateway's check on every exchange that names a consent: the
consent must be for this provider, consumer, service, purpose and operation, hold now, and —
when it is for one use — not be spent yet.  The facts a consent was granted with never change,
so they are compared as read; its state (revoked, spent) is checked again by the database in
the statement that records the use, so that two exchanges at once cannot both spend a
one-time consent, and a revocation holds from the very next request.  A refusal says why in
one line, which the gateway passes on to the consumer: it never names the person.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from kiban.core.audit import AuditOutcome, record_audit
from kiban.core.errors import NotFound, ProblemError
from kiban.identity.ca.service import Clock, resident_subject, utc_now
from kiban.mesh.consent.models import (
    REASON_MAX_LENGTH,
    WHOLE_SERVICE,
    ConsentStatus,
    MeshConsent,
)
from kiban.mesh.consent.repository import ConsentQuery, ConsentRepository, ConsentView
from kiban.mesh.consent.request import ConsentRequest, FieldError, InvalidConsentRequest
from kiban.mesh.consent.schemas import ConsentSpent, ConsentUseIn
from kiban.mesh.identifiers import MemberClass, MemberId
from kiban.mesh.openapi import operations
from kiban.mesh.policy import path_pattern
from kiban.mesh.registry.models import MeshService, RegistrationStatus
from kiban.mesh.registry.repository import RegistryRepository
from kiban.mesh.tracker.service import japan_day

PORTAL_PAGE_SIZE = 100

# Why a consent that is for this exchange does not hold now, as the consumer is told.
_NOT_HOLDING = {
    ConsentStatus.REVOKED: "the consent has been revoked",
    ConsentStatus.PENDING: "the consent is not valid yet",
    ConsentStatus.EXPIRED: "the consent has expired",
    ConsentStatus.USED: "the consent was for one use, and it has been used",
}


class ConsentInvalid(ProblemError):
    """The consent does not allow the exchange; the detail says why, never about whom."""

    def __init__(self, detail: str) -> None:
        super().__init__(
            403,
            "mesh/consent-invalid",
            "The consent does not allow this exchange / 同意の範囲外です",
            detail,
        )


@dataclass(frozen=True, slots=True)
class Item:
    """An operation a consent covers (``*``: the whole service), with what the service's
    OpenAPI document says of it, for the person to read."""

    operation: str
    summary: str | None = None
    description: str | None = None

    @property
    def whole_service(self) -> bool:
        return self.operation == WHOLE_SERVICE


@dataclass(frozen=True, slots=True)
class ConsentOffer:
    """A request that holds, with what the resident is shown before they decide."""

    request: ConsentRequest
    consumer_name: str
    service_title: str
    items: list[Item]


@dataclass(frozen=True, slots=True)
class ConsentPageOf:
    """One page of consents, newest first, and how many there are in all."""

    total: int
    page: int
    per_page: int
    items: list[ConsentView]


def _text(value: object) -> str | None:
    return (value.strip() or None) if isinstance(value, str) else None


def describe(service: MeshService | None, operations_covered: list[str]) -> list[Item]:
    """The items, with the summary and description the service's document gives each."""
    document: dict[str, Any] = json.loads(service.openapi) if service else {}
    paths = document.get("paths") or {}
    described = []
    for operation in operations_covered:
        method, _, path = operation.partition(" ")
        entry = (paths.get(path) or {}).get(method.lower()) or {}
        described.append(
            Item(operation, _text(entry.get("summary")), _text(entry.get("description")))
        )
    return described


def _covers(consent: MeshConsent, method: str, path: str) -> bool:
    """Whether ``method`` on ``path`` (within the service, perhaps with a query) is one of
    the operations the consent covers."""
    path = path.partition("?")[0]
    for operation in consent.operations:
        covered_method, _, template = operation.partition(" ")
        if covered_method == method.upper() and path_pattern(template).fullmatch(path):
            return True
    return False


def _why_not(consent: MeshConsent | None, use: ConsentUseIn, now: datetime) -> str | None:
    """Why ``consent`` does not allow the exchange ``use`` describes; None when it does.

    What the consent was granted for is compared first, so that a party it was not given to
    learns nothing of its state.
    """
    if consent is None:
        return "no consent has this identifier"
    if consent.provider != use.provider:
        return "the consent is for another provider's data"
    if consent.consumer != use.client:
        return "the consent is given to another consumer"
    if consent.service != use.service:
        return "the consent is for another service"
    if consent.purpose != use.purpose:
        return "the consent is for another purpose"
    if consent.operations != [WHOLE_SERVICE]:
        if use.method is None or use.path is None:
            return (
                "the consent covers some operations only, and the exchange's operation"
                " (method and path) is not given"
            )
        if not _covers(consent, use.method, use.path):
            return "the consent does not cover this operation"
    return _NOT_HOLDING.get(consent.status(now))


class ConsentService:
    def __init__(self, session: Session, *, now: Clock = utc_now) -> None:
        self.session = session
        self.now = now
        self.repository = ConsentRepository(session)
        self.registry = RegistryRepository(session)

    # A consumer's request -----------------------------------------------------------------

    def check(self, request: ConsentRequest, tenant_code: str | None = None) -> ConsentOffer:
        """``request`` with what the resident is shown, once the registry bears it out; and,
        given the resident's local government, once the service is that government's own.
        :class:`InvalidConsentRequest` names every field that does not hold."""
        errors: list[FieldError] = []
        consumer = self.registry.subsystem(request.consumer)
        member = self.registry.member(request.consumer.member)
        if (
            consumer is None
            or member is None
            or consumer.status != RegistrationStatus.APPROVED.value
        ):
            errors.append(
                FieldError(
                    "consumer",
                    "公共サービスメッシュに登録された利用者ではありません。",
                    f"{request.consumer} is not an approved subsystem of the mesh.",
                )
            )
        provider = request.service.subsystem.member
        service = self.registry.service(request.service)
        if provider.member_class is not MemberClass.LG:
            errors.append(
                FieldError(
                    "service",
                    "地方公共団体のサービスではありません。",
                    f"{request.service} is not a local government's service (JP/LG/…).",
                )
            )
        elif tenant_code is not None and provider != MemberId(MemberClass.LG, tenant_code):
            errors.append(
                FieldError(
                    "service",
                    "あなたがお住まいの地方公共団体のサービスではありません。",
                    f"{request.service} is not a service of your local government.",
                )
            )
        elif service is None:
            errors.append(
                FieldError(
                    "service",
                    "公開されているサービスではありません。",
                    f"{request.service} is not a published service.",
                )
            )
        else:
            described = operations(json.loads(service.openapi))
            unknown = [
                item
                for item in request.items
                if item != WHOLE_SERVICE and tuple(item.split(" ", 1)) not in described
            ]
            if unknown:
                errors.append(
                    FieldError(
                        "items",
                        "サービスにない操作が含まれています。",
                        f"{request.service} has no operation {', '.join(unknown)}.",
                    )
                )
        if errors or member is None or service is None:
            raise InvalidConsentRequest(errors)
        return ConsentOffer(
            request, member.name, service.title, describe(service, list(request.items))
        )

    def grant(self, request: ConsentRequest, tenant_code: str, addressee_number: str) -> str:
        """The resident grants ``request``: the new consent's identifier, for the consumer."""
        self.check(request, tenant_code)
        now = self.now()
        consent = MeshConsent(
            id=str(uuid.uuid4()),
            tenant_code=tenant_code,
            addressee_number=addressee_number,
            consumer_class=request.consumer.member.member_class.value,
            consumer_code=request.consumer.member.code,
            consumer_subsystem=request.consumer.code,
            service_subsystem=request.service.subsystem.code,
            service_code=request.service.code,
            service_version=request.service.version or "",
            items="\n".join(request.items),
            purpose=request.purpose,
            explanation=request.explanation,
            kind=request.kind.value,
            valid_from=now,
            valid_until=request.until,
            granted_at=now,
            use_count=0,
        )
        self.repository.add(consent)
        person = resident_subject(tenant_code, addressee_number)
        record_audit(
            self.session,
            "mesh.consent.grant",
            AuditOutcome.SUCCESS,
            actor=person,
            tenant_code=tenant_code,
            subject=person,
            details={
                "consent": consent.id,
                "consumer": str(request.consumer),
                "service": str(request.service),
                "purpose": request.purpose,
                "kind": request.kind.value,
                "until": request.until.isoformat(),
            },
            now=now,
        )
        return consent.id

    # The resident's own ---------------------------------------------------------------------

    def of_resident(self, tenant_code: str, addressee_number: str) -> list[ConsentView]:
        """The resident's consents, newest first: the hundred newest."""
        query = ConsentQuery(tenant_code, addressee_number)
        return self.repository.page(query, 0, PORTAL_PAGE_SIZE)

    def one_of_resident(
        self, consent_id: str, tenant_code: str, addressee_number: str
    ) -> ConsentView:
        """One of the resident's consents; another person's is not found, as if unknown."""
        view = self.repository.view(consent_id)
        if view is None or (view.consent.tenant_code, view.consent.addressee_number) != (
            tenant_code,
            addressee_number,
        ):
            raise NotFound(f"You have no consent {consent_id}. / この同意は見つかりません。")
        return view

    def items_of(self, views: list[ConsentView]) -> dict[str, list[Item]]:
        """Each consent's items, described from its service's document (read once each)."""
        documents: dict[str, MeshService | None] = {}
        described = {}
        for view in views:
            service = view.consent.service
            key = str(service)
            if key not in documents:
                documents[key] = self.registry.service(service)
            described[view.consent.id] = describe(documents[key], view.consent.operations)
        return described

    # Revoking ---------------------------------------------------------------------------

    def revoke_own(self, consent_id: str, tenant_code: str, addressee_number: str) -> None:
        """The resident withdraws their consent; from the next request on it allows nothing."""
        consent = self.one_of_resident(consent_id, tenant_code, addressee_number).consent
        if consent.revoked_at is None:
            self._revoke(consent, resident_subject(tenant_code, addressee_number), None)

    def revoke(self, consent_id: str, *, actor: str, reason: str) -> MeshConsent:
        """Revoke a consent for the person, saying why: the operator, on a court's order."""
        reason = reason.strip()
        if not reason or len(reason) > REASON_MAX_LENGTH or not reason.isprintable():
            raise ProblemError(
                400,
                "invalid-revocation",
                "Not revoked / 取り消せません",
                f"the reason must be one line of 1 to {REASON_MAX_LENGTH} characters",
            )
        consent = self.repository.get(consent_id)
        if consent is None:
            raise NotFound(f"no consent has the identifier {consent_id}")
        if consent.revoked_at is not None:
            raise ProblemError(
                409,
                "consent-revoked",
                "Revoked already / 取り消し済みです",
                f"consent {consent_id} was revoked already",
            )
        self._revoke(consent, actor, reason)
        return consent

    def _revoke(self, consent: MeshConsent, actor: str, reason: str | None) -> None:
        now = self.now()
        consent.revoked_at = now
        consent.revoked_by = actor
        consent.revocation_reason = reason
        self.session.flush()
        record_audit(
            self.session,
            "mesh.consent.revoke",
            AuditOutcome.SUCCESS,
            actor=actor,
            tenant_code=consent.tenant_code,
            subject=resident_subject(consent.tenant_code, consent.addressee_number),
            details={"consent": consent.id},
            now=now,
        )

    # Spending ---------------------------------------------------------------------------

    def spend(self, use: ConsentUseIn) -> ConsentSpent:
        """Spend the consent ``use`` names for its exchange, and say whom it is about;
        :class:`ConsentInvalid` saying why not."""
        now = self.now()
        consent = self._named(use.consent)
        reason = _why_not(consent, use, now)
        if consent is not None and reason is None:
            if self.repository.spend(consent, str(use.message_id), now, japan_day(now)):
                return ConsentSpent(consent=uuid.UUID(consent.id), subject=consent.addressee_number)
            # Revoked or spent by another transaction since it was read.
            reason = _why_not(self.repository.fresh(consent), use, now)
        raise ConsentInvalid(reason or "the consent does not hold now")

    def _named(self, text: str) -> MeshConsent | None:
        try:
            return self.repository.get(str(uuid.UUID(text)))
        except ValueError:
            return None

    # Auditors and the operator ----------------------------------------------------------

    def page(self, query: ConsentQuery, page: int, per_page: int) -> ConsentPageOf:
        items = self.repository.page(query, (page - 1) * per_page, per_page)
        return ConsentPageOf(self.repository.count(query), page, per_page, items)

    def stream(self, query: ConsentQuery) -> Iterator[ConsentView]:
        return self.repository.stream(query)
