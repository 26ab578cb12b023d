"""Every query of the data tracker."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from kiban.mesh.identifiers import MemberId
from kiban.mesh.registry.models import MeshMember, MeshService
from kiban.mesh.tracker.models import MeshDataUse

_STREAM_BATCH = 1000


@dataclass(frozen=True, slots=True)
class DataUseQuery:
    """Which of a provider's records to read."""

    provider: MemberId
    subject: str | None = None
    since: datetime | None = None  # UTC, inclusive
    until: datetime | None = None  # UTC, exclusive
    # Only the records the person may see on this day (Japan time); None: hidden ones too.
    visible_on: date | None = None


@dataclass(frozen=True, slots=True)
class DataUseView:
    """A record with the consumer's registered name and the service's title, when known."""

    record: MeshDataUse
    client_name: str | None
    service_title: str | None


def _of_provider(provider: MemberId) -> list[Any]:
    return [
        MeshDataUse.provider_class == provider.member_class.value,
        MeshDataUse.provider_code == provider.code,
    ]


def _conditions(query: DataUseQuery) -> list[Any]:
    conditions = _of_provider(query.provider)
    if query.subject is not None:
        conditions.append(MeshDataUse.subject == query.subject)
    if query.since is not None:
        conditions.append(MeshDataUse.used_at >= query.since)
    if query.until is not None:
        conditions.append(MeshDataUse.used_at < query.until)
    if query.visible_on is not None:
        conditions.append(
            or_(MeshDataUse.hidden_until.is_(None), MeshDataUse.hidden_until < query.visible_on)
        )
    return conditions


def _views(query: DataUseQuery) -> Select[MeshDataUse, str, str]:
    """The records, newest first, each with its consumer's name and its service's title."""
    return (
        select(MeshDataUse, MeshMember.name, MeshService.title)
        .outerjoin(
            MeshMember,
            and_(
                MeshMember.member_class == MeshDataUse.client_class,
                MeshMember.member_code == MeshDataUse.client_code,
            ),
        )
        .outerjoin(
            MeshService,
            and_(
                MeshService.member_class == MeshDataUse.provider_class,
                MeshService.member_code == MeshDataUse.provider_code,
                MeshService.subsystem_code == MeshDataUse.service_subsystem,
                MeshService.service_code == MeshDataUse.service_code,
                MeshService.version == MeshDataUse.service_version,
            ),
        )
        .where(*_conditions(query))
        .order_by(MeshDataUse.used_at.desc(), MeshDataUse.message_id.desc())
    )


class DataUseRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def view(self, provider: MemberId, message_id: str) -> DataUseView | None:
        statement = _views(DataUseQuery(provider)).where(MeshDataUse.message_id == message_id)
        row = self.session.execute(statement).first()
        if row is None:
            return None
        record, client_name, service_title = row
        return DataUseView(record, client_name, service_title)

    def stored(self, provider: MemberId, message_ids: Collection[str]) -> dict[str, MeshDataUse]:
        """The provider's records among ``message_ids``, by message id."""
        rows = self.session.scalars(
            select(MeshDataUse).where(
                *_of_provider(provider), MeshDataUse.message_id.in_(list(message_ids))
            )
        )
        return {row.message_id: row for row in rows}

    def insert_new(self, rows: Sequence[Mapping[str, Any]]) -> int:
        """Insert the rows that are not stored yet; how many were.

        A concurrent delivery of the same batch waits for the first one's commit, then
        inserts nothing, rather than failing on the primary key.
        """
        connection = self.session.connection()
        dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
        statement = (
            dialect.insert(MeshDataUse)
            .on_conflict_do_nothing()
            .returning(MeshDataUse.message_id, sort_by_parameter_order=False)
        )
        return len(connection.execute(statement, list(rows)).all())

    def page(self, query: DataUseQuery, offset: int, limit: int) -> list[DataUseView]:
        statement = _views(query).offset(offset).limit(limit)
        return [
            DataUseView(record, client_name, service_title)
            for record, client_name, service_title in self.session.execute(statement)
        ]

    def count(self, query: DataUseQuery) -> int:
        statement = select(func.count()).select_from(MeshDataUse).where(*_conditions(query))
        return self.session.scalar(statement) or 0

    def stream(self, query: DataUseQuery) -> Iterator[DataUseView]:
        """Every record the query selects, read a thousand at a time."""
        statement = _views(query).execution_options(yield_per=_STREAM_BATCH)
        for record, client_name, service_title in self.session.execute(statement):
            yield DataUseView(record, client_name, service_title)
