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
        """Every town with its municipality and prefecture, as the postal data described it.

        The normaliser is built from all ~125k towns at start-up, so this is tuned: towns
        are read through the DB-API cursor (SQLAlchemy's row processing would double the
        time) and joined to their ~2,000 local governments in Python, not row by row in SQL.
        """
        prefecture = aliased(LocalGovernment)
        bodies = {
            code: (code[:5], prefecture_name, prefecture_kana, postal_name or "", kana)
            for code, prefecture_name, prefecture_kana, postal_name, kana in self.session.execute(
                select(
                    LocalGovernment.code,
                    prefecture.name,
                    prefecture.kana,
                    LocalGovernment.postal_name,
                    LocalGovernment.kana,
                ).join(prefecture, LocalGovernment.prefecture_code == prefecture.code)
            )
        }
        towns = select(
            Town.lg_code,
            Town.postal_code,
            Town.name,
            Town.kana,
            Town.note,
            Town.has_chome,
            Town.koaza_banchi,
            Town.shared_postal_code,
        ).order_by(Town.id)
        connection = self.session.connection()
        cursor = connection.connection.cursor()
        try:
            cursor.execute(str(towns.compile(dialect=connection.dialect)))
            for lg_code, postal_code, name, kana, note, chome, koaza, shared in cursor.fetchall():
                jis_code, prefecture_name, prefecture_kana, city, city_kana = bodies[lg_code]
                yield PostalRecord(
                    jis_code,
                    postal_code,
                    prefecture_name,
                    prefecture_kana,
                    city,
                    city_kana,
                    name,
                    kana,
                    note,
                    # SQLite returns its booleans as 0 and 1.
                    bool(chome),
                    bool(koaza),
                    bool(shared),
                )
        finally:
            cursor.close()

    def towns_of(self, lg_code: str) -> list[Town]:
        statement = select(Town).where(Town.lg_code == lg_code).order_by(Town.postal_code, Town.id)
        return list(self.session.scalars(statement))

    def by_postal_code(self, postal_code: str) -> list[Town]:
        statement = select(Town).where(Town.postal_code == postal_code).order_by(Town.id)
        return list(self.session.scalars(statement))
