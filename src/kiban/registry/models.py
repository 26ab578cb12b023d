"""Bookkeeping of the reference data sets loaded into the registry."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from kiban.core.database import Base


class ReferenceDataset(Base):
    """Which release of an external data set a reference table was last built from."""

    __tablename__ = "reference_datasets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[str] = mapped_column(String(64))
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
