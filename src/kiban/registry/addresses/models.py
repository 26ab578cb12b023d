"""The town-level address base registry (町域), a reference table built from the postal data."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from kiban.core.database import Base


class Town(Base):
    """A town (町域) of a municipality or ward under one postal code."""

    __tablename__ = "address_towns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lg_code: Mapped[str] = mapped_column(
        String(6), ForeignKey("local_governments.code"), index=True
    )
    postal_code: Mapped[str] = mapped_column(String(7), index=True)
    name: Mapped[str] = mapped_column(String(128))  # empty for the postal catch-all row
    kana: Mapped[str] = mapped_column(String(256))
    note: Mapped[str | None] = mapped_column(String(512))
    has_chome: Mapped[bool] = mapped_column(Boolean)
    koaza_banchi: Mapped[bool] = mapped_column(Boolean)
    shared_postal_code: Mapped[bool] = mapped_column(Boolean)
