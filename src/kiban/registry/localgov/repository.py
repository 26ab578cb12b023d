"""Queries over the local-government registry."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from kiban.registry.localgov.derive import LocalGovernmentKind
from kiban.registry.localgov.models import LocalGovernment


class LocalGovernmentRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, code: str) -> LocalGovernment | None:
        return self.session.get(LocalGovernment, code)

    def _filtered(
        self,
        statement: Select[tuple[LocalGovernment]],
        *,
        query: str | None,
        kinds: Sequence[LocalGovernmentKind],
        prefecture_code: str | None,
        parent_code: str | None,
    ) -> Select[tuple[LocalGovernment]]:
        if query:
            pattern = f"%{query}%"
            statement = statement.where(
                or_(
                    LocalGovernment.name.like(pattern),
                    LocalGovernment.kana.like(pattern),
                    LocalGovernment.code.startswith(query),
                )
            )
        if kinds:
            statement = statement.where(LocalGovernment.kind.in_([kind.value for kind in kinds]))
        if prefecture_code:
            statement = statement.where(LocalGovernment.prefecture_code == prefecture_code)
        if parent_code:
            statement = statement.where(LocalGovernment.parent_code == parent_code)
        return statement

    def search(
        self,
        *,
        query: str | None = None,
        kinds: Sequence[LocalGovernmentKind] = (),
        prefecture_code: str | None = None,
        parent_code: str | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> tuple[int, list[LocalGovernment]]:
        count = self._filtered(
            select(LocalGovernment),
            query=query,
            kinds=kinds,
            prefecture_code=prefecture_code,
            parent_code=parent_code,
        ).with_only_columns(func.count())
        total = self.session.scalar(count) or 0
        statement = (
            self._filtered(
                select(LocalGovernment),
                query=query,
                kinds=kinds,
                prefecture_code=prefecture_code,
                parent_code=parent_code,
            )
            .order_by(LocalGovernment.code)
            .offset(offset)
            .limit(limit)
        )
        return total, list(self.session.scalars(statement))
