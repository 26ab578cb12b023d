"""Every query of the consent artefacts."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, and_, case, func, literal, or_, select, update
from sqlalchemy.orm import Session

from kiban.mesh.consent.models import ConsentKind, MeshConsent
from kiban.mesh.identifiers import MemberClass
from kiban.mesh.registry.models import MeshMember, MeshService

_STREAM_BATCH = 1000


@dataclass(frozen=True, slots=True)
class ConsentQuery:
    """Which of a local government's consents to read: all, or one person's."""

    tenant_code: str
    subject: str | None = None  # a 宛名番号


@dataclass(frozen=True, slots=True)
class ConsentView:
    """A consent with the consumer's registered name and the service's title, when known."""

    consent: MeshConsent
    consumer_name: str | None
    service_title: str | None


def _conditions(query: ConsentQuery) -> list[Any]:
    conditions: list[Any] = [MeshConsent.tenant_code == query.tenant_code]
    if query.subject is not None:
        conditions.append(MeshConsent.addressee_number == query.subject)
    return conditions


def _views() -> Select[MeshConsent, str, str]:
    """Consents, newest first, each with its consumer's name and its service's title."""
    return (
        select(MeshConsent, MeshMember.name, MeshService.title)
        .outerjoin(
            MeshMember,
            and_(
                MeshMember.member_class == MeshConsent.consumer_class,
                MeshMember.member_code == MeshConsent.consumer_code,
            ),
        )
        .outerjoin(
            MeshService,
            and_(
                MeshService.member_class == MemberClass.LG.value,
                MeshService.member_code == MeshConsent.tenant_code,
                MeshService.subsystem_code == MeshConsent.service_subsystem,
                MeshService.service_code == MeshConsent.service_code,
                MeshService.version == MeshConsent.service_version,
            ),
        )
        .order_by(MeshConsent.granted_at.desc(), MeshConsent.id.desc())
    )


class ConsentRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, consent: MeshConsent) -> None:
        self.session.add(consent)
        self.session.flush()

    def get(self, consent_id: str) -> MeshConsent | None:
        return self.session.get(MeshConsent, consent_id)

    def fresh(self, consent: MeshConsent) -> MeshConsent:
        """``consent`` as the database has it now, after another transaction changed it."""
        self.session.refresh(consent)
        return consent

    def view(self, consent_id: str) -> ConsentView | None:
        row = self.session.execute(_views().where(MeshConsent.id == consent_id)).first()
        if row is None:
            return None
        consent, consumer_name, service_title = row
        return ConsentView(consent, consumer_name, service_title)

    def page(self, query: ConsentQuery, offset: int, limit: int) -> list[ConsentView]:
        statement = _views().where(*_conditions(query)).offset(offset).limit(limit)
        return [
            ConsentView(consent, consumer_name, service_title)
            for consent, consumer_name, service_title in self.session.execute(statement)
        ]

    def count(self, query: ConsentQuery) -> int:
        statement = select(func.count()).select_from(MeshConsent).where(*_conditions(query))
        return self.session.scalar(statement) or 0

    def stream(self, query: ConsentQuery) -> Iterator[ConsentView]:
        """Every consent the query selects, read a thousand at a time."""
        statement = _views().where(*_conditions(query)).execution_options(yield_per=_STREAM_BATCH)
        for consent, consumer_name, service_title in self.session.execute(statement):
            yield ConsentView(consent, consumer_name, service_title)

    def spend(self, consent: MeshConsent, message_id: str, now: datetime, today: date) -> bool:
        """Record one use of ``consent`` by the exchange ``message_id``, if it still holds at
        ``now`` (``today`` in Japan); whether it did.

        One conditional statement: a consent revoked, or a one-time consent spent, by another
        transaction meanwhile is not changed, since the database checks the row's state as it
        writes it — two exchanges that spend a one-time consent at once cannot both succeed.
        """
        one_time = MeshConsent.kind == ConsentKind.ONE_TIME.value
        statement = (
            update(MeshConsent)
            .where(
                MeshConsent.id == consent.id,
                MeshConsent.revoked_at.is_(None),
                MeshConsent.valid_from <= now,
                MeshConsent.valid_until >= today,
                or_(~one_time, MeshConsent.used_at.is_(None)),
            )
            .values(
                use_count=MeshConsent.use_count + 1,
                last_used_at=now,
                used_at=case(
                    (one_time, literal(now, MeshConsent.used_at.type)), else_=MeshConsent.used_at
                ),
                used_message_id=case(
                    (one_time, literal(message_id, MeshConsent.used_message_id.type)),
                    else_=MeshConsent.used_message_id,
                ),
            )
            .returning(MeshConsent.id)
            .execution_options(synchronize_session="fetch")
        )
        return self.session.execute(statement).first() is not None
