"""The local-government registry (全国地方公共団体コード), shared by all tenants."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from kiban.core.database import Base


class LocalGovernment(Base):
    __tablename__ = "local_governments"

    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    kana: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))
    prefecture_code: Mapped[str] = mapped_column(String(6), index=True)
    parent_code: Mapped[str | None] = mapped_column(
        String(6), ForeignKey("local_governments.code"), index=True
    )
    # The city as Japan Post writes it (高座郡寒川町, 大阪市北区);
    # None for bodies without towns of their own.
    postal_name: Mapped[str | None] = mapped_column(String(64))
    county: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (Index("ix_local_governments_name", "name"),)
