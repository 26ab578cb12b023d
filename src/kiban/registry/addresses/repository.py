"""Queries over the town-level address registry."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from kiban.registry.addresses.models import Town
from kiban.registry.localgov.models import LocalGovernment
from kiban.registry.postal import PostalRecord


class TownRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def iter_postal_records(self) -> Iterator[PostalRecord]:
        """Every town with its municipality and prefecture, as the postal data described it."""
        prefecture = aliased(LocalGovernment)
        statement = (
            select(
                LocalGovernment.code,
                Town.postal_code,
                prefecture.name,
                prefecture.kana,
                LocalGovernment.postal_name,
                LocalGovernment.kana,
                Town.name,
                Town.kana,
                Town.note,
                Town.has_chome,
                Town.koaza_banchi,
                Town.shared_postal_code,
            )
            .join(LocalGovernment, Town.lg_code == LocalGovernment.code)
            .join(prefecture, LocalGovernment.prefecture_code == prefecture.code)
            .order_by(Town.id)
        )
        for row in self.session.execute(statement):
            yield PostalRecord(
                jis_code=row[0][:5],
                postal_code=row[1],
                prefecture=row[2],
                prefecture_kana=row[3],
                city=row[4] or "",
                city_kana=row[5],
                town=row[6],
                town_kana=row[7],
                note=row[8],
                has_chome=row[9],
                koaza_banchi=row[10],
                shared_postal_code=row[11],
            )

    def towns_of(self, lg_code: str) -> list[Town]:
        statement = select(Town).where(Town.lg_code == lg_code).order_by(Town.postal_code, Town.id)
        return list(self.session.scalars(statement))

    def by_postal_code(self, postal_code: str) -> list[Town]:
        statement = select(Town).where(Town.postal_code == postal_code).order_by(Town.id)
        return list(self.session.scalars(statement))
