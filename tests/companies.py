"""Companies in the corporation registry, for tests that need one to exist."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from kiban.core.identifiers import corporate_number_check_digit
from kiban.registry.corporations.models import Corporation


def add_company(
    session: Session,
    base: str,
    name: str,
    kana: str,
    *,
    banchi: str = "3-1",
    closed_on: date | None = None,
) -> str:
    """A 株式会社 with head office in 千代田区霞が関一丁目, numbered ``base`` (12 digits) with
    its check digit; its 法人番号."""
    number = corporate_number_check_digit(base) + base
    session.add(
        Corporation(
            number=number,
            name=name,
            kana=kana,
            kind="301",
            lg_code="131016",
            town_name="霞が関一丁目",
            banchi=banchi,
            closed_on=closed_on,
            updated_at=datetime.now(UTC),
            synthetic=True,
        )
    )
    session.flush()
    return number
