"""Queries over the corporation registry."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased

from kiban.registry.corporations.models import Corporation, CorporationKind
from kiban.registry.localgov.derive import MUNICIPALITY_KINDS
from kiban.registry.localgov.models import LocalGovernment


@dataclass(frozen=True, slots=True)
class CorporationRecord:
    """A corporation with the local governments its address names."""

    corporation: Corporation
    city: LocalGovernment  # the municipality or ward of the head office
    prefecture: LocalGovernment


_prefecture = aliased(LocalGovernment)
# Immutable, so every query starts from it: each corporation with its city and prefecture.
_WITH_ADDRESS = (
    select(Corporation, LocalGovernment, _prefecture)
    .join(LocalGovernment, LocalGovernment.code == Corporation.lg_code)
    .join(_prefecture, _prefecture.code == LocalGovernment.prefecture_code)
)


class CorporationRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, number: str) -> CorporationRecord | None:
        statement = _WITH_ADDRESS.where(Corporation.number == number)
        for corporation, city, prefecture in self.session.execute(statement):
            return CorporationRecord(corporation, city, prefecture)
        return None

    def search(
        self,
        *,
        name: str | None = None,
        kana: str | None = None,
        area_code: str | None = None,
        kinds: Sequence[CorporationKind] = (),
        offset: int = 0,
        limit: int | None = None,
    ) -> tuple[int, list[CorporationRecord]]:
        """Corporations whose name contains ``name`` or whose kana starts with ``kana``.

        The name is matched anywhere because it usually starts with its 法人格 (株式会社…);
        the kana has none, so a prefix finds what people type first.  ``area_code`` is a
        municipality or ward, a designated city (its wards included) or a prefecture.
        """
        statement = _WITH_ADDRESS
        matches = []
        if name:
            matches.append(Corporation.name.contains(name, autoescape=True))
        if kana:
            matches.append(Corporation.kana.startswith(kana, autoescape=True))
        if matches:
            statement = statement.where(or_(*matches))
        if area_code:
            statement = statement.where(
                or_(
                    Corporation.lg_code == area_code,
                    LocalGovernment.parent_code == area_code,
                    LocalGovernment.prefecture_code == area_code,
                )
            )
        if kinds:
            statement = statement.where(Corporation.kind.in_([kind.value for kind in kinds]))
        total = self.session.scalar(statement.with_only_columns(func.count())) or 0
        page = statement.order_by(Corporation.kana, Corporation.number).offset(offset).limit(limit)
        records = [
            CorporationRecord(corporation, city, prefecture)
            for corporation, city, prefecture in self.session.execute(page)
        ]
        return total, records

    def municipality_codes(self) -> list[str]:
        """Every municipality, designated cities included and their wards not."""
        statement = (
            select(LocalGovernment.code)
            .where(LocalGovernment.kind.in_([kind.value for kind in MUNICIPALITY_KINDS]))
            .order_by(LocalGovernment.code)
        )
        return list(self.session.scalars(statement))

    def seeded_municipalities(self, codes: Sequence[str]) -> list[str]:
        """Those of ``codes`` whose area (wards included) already has synthetic companies."""
        municipality = func.coalesce(LocalGovernment.parent_code, LocalGovernment.code)
        statement = (
            select(municipality)
            .join(Corporation, Corporation.lg_code == LocalGovernment.code)
            .where(
                Corporation.synthetic,
                Corporation.kind != CorporationKind.LOCAL_GOVERNMENT.value,
                municipality.in_(codes),
            )
            .distinct()
            .order_by(municipality)
        )
        return list(self.session.scalars(statement))

    def existing_numbers(self, numbers: Sequence[str]) -> set[str]:
        statement = select(Corporation.number).where(Corporation.number.in_(numbers))
        return set(self.session.scalars(statement))

    def highest_synthetic_serials(self) -> dict[str, int]:
        """The highest serial in use under each synthetic 登記所・組織区分 prefix.

        A synthetic number's base is a 会社法人等番号: 4-digit registry office, 2-digit
        organisation code, 6-digit serial; the prefix is its first 6 digits.
        """
        prefix = func.substr(Corporation.number, 2, 6)
        statement = (
            select(prefix, func.max(func.substr(Corporation.number, 8, 6)))
            .where(
                Corporation.synthetic,
                Corporation.kind != CorporationKind.LOCAL_GOVERNMENT.value,
            )
            .group_by(prefix)
        )
        return {key: int(serial) for key, serial in self.session.execute(statement)}
