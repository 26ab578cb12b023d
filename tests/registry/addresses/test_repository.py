"""The town registry read back from the database is the postal data it was built from."""

from __future__ import annotations

from sqlalchemy.orm import Session

from kiban.registry import postal
from kiban.registry.addresses.repository import TownRepository


def test_towns_round_trip_through_the_database(db_session: Session) -> None:
    stored = list(TownRepository(db_session).iter_postal_records())
    shipped = list(postal.iter_records())
    assert len(stored) == len(shipped) > 120_000
    # The registry keeps a town's reading without its county (寒川町 サムカワマチ).
    assert [record._replace(city_kana="") for record in stored] == [
        record._replace(city_kana="") for record in shipped
    ]
    assert all(isinstance(record.has_chome, bool) for record in stored)


def test_towns_of_a_municipality(db_session: Session) -> None:
    towns = TownRepository(db_session).towns_of("131016")
    names = {town.name for town in towns}
    assert {"霞が関", "丸の内", "永田町"} <= names
    assert all(town.lg_code == "131016" for town in towns)
