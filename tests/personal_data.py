"""What of a resident's personal data appears in captured log entries: it never should."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from kiban.residents.models import Resident


def personal_data_in(
    entries: Iterable[Mapping[str, Any]], resident: Resident, *secrets: str
) -> list[str]:
    """The pieces of ``resident``'s data, and of ``secrets``, found anywhere in ``entries``:
    the name and its reading, the birth date, the address, the 宛名番号 and the 住民票コード."""
    logs = "\n".join(repr(entry) for entry in entries)
    pieces = [
        resident.family_name,
        resident.family_name_kana,
        resident.birth_date.isoformat(),
        resident.town_name[:3],  # 霞が関 of 霞が関一丁目: even part of the address
        resident.addressee_number,
        resident.resident_record_code,
        *secrets,
    ]
    return [piece for piece in pieces if piece in logs]
