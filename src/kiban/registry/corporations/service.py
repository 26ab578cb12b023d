"""Looking corporations up by number and searching them by name, reading, area and kind."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import UTC

from sqlalchemy.orm import Session

from kiban.core.errors import NotFound, ProblemError
from kiban.core.identifiers import InvalidIdentifier, validate_corporate_number
from kiban.registry.corporations.models import CorporationKind
from kiban.registry.corporations.repository import CorporationRecord, CorporationRepository
from kiban.registry.corporations.schemas import CorporationAddressOut, CorporationOut

_HIRAGANA_TO_KATAKANA = {code: code + 0x60 for code in range(0x3041, 0x3097)}
_KANA = re.compile(r"[ァ-ヶー]+")
_SPACES = re.compile(r"\s+")


class InvalidCorporateNumber(ProblemError):
    def __init__(self, detail: str) -> None:
        super().__init__(
            422, "invalid-identifier", "法人番号が不正です / Invalid corporate number", detail
        )


def as_corporation(record: CorporationRecord) -> CorporationOut:
    corporation, city, prefecture = record.corporation, record.city, record.prefecture
    city_name = f"{city.county or ''}{city.name}"
    kind = CorporationKind(corporation.kind)
    return CorporationOut(
        number=corporation.number,
        name=corporation.name,
        kana=corporation.kana,
        kind=kind,
        kind_name=kind.label,
        address=CorporationAddressOut(
            lg_code=city.code,
            prefecture=prefecture.name,
            city=city_name,
            town=corporation.town_name,
            banchi=corporation.banchi,
            text=f"{prefecture.name}{city_name}{corporation.town_name}{corporation.banchi}",
        ),
        established_on=corporation.established_on,
        closed_on=corporation.closed_on,
        # SQLite hands back the stored UTC time without its zone.
        updated_at=corporation.updated_at.replace(tzinfo=corporation.updated_at.tzinfo or UTC),
        synthetic=corporation.synthetic,
    )


def search_terms(text: str) -> tuple[str, str | None]:
    """The name to look for in ``text``, and the kana too when ``text`` is all kana.

    People type full-width or half-width, katakana or hiragana, with spaces between words;
    names and readings are stored NFKC-clean in katakana without spaces.
    """
    name = _SPACES.sub("", unicodedata.normalize("NFKC", text))
    kana = name.translate(_HIRAGANA_TO_KATAKANA)
    return name, kana if _KANA.fullmatch(kana) else None


class CorporationService:
    """Reads of the corporation registry; never writes, so never commits."""

    def __init__(self, session: Session) -> None:
        self.repository = CorporationRepository(session)

    def get(self, number: str) -> CorporationOut:
        """The corporation with ``number``; a malformed number is refused with the reason."""
        try:
            valid = validate_corporate_number(number)
        except InvalidIdentifier as invalid:
            raise InvalidCorporateNumber(str(invalid)) from None
        record = self.repository.get(valid)
        if record is None:
            raise NotFound(
                f"法人番号 {valid} の法人は登録されていません"
                f" / No corporation has the number {valid}."
            )
        return as_corporation(record)

    def search(
        self,
        text: str | None = None,
        *,
        area_code: str | None = None,
        kinds: Sequence[CorporationKind] = (),
        offset: int = 0,
        limit: int | None = None,
    ) -> tuple[int, list[CorporationOut]]:
        name, kana = search_terms(text) if text else ("", None)
        total, records = self.repository.search(
            name=name or None,
            kana=kana,
            area_code=area_code,
            kinds=kinds,
            offset=offset,
            limit=limit,
        )
        return total, [as_corporation(record) for record in records]
