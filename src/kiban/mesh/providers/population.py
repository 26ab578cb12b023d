"""Population by age band and sex, counted in the municipality's own records.

A ministry asks each municipality directly, as 総務省's 住民基本台帳に基づく人口調査 asks for
the population on 1 January: no prefecture relays the figures, and no person's data leaves the
municipality, only counts.  One aggregate query does the counting, on an index that holds
every column it reads (kiban.mesh.providers.models.POPULATION_INDEX).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from kiban.mesh.providers.schemas import AgeBand
from kiban.residents.codes import Sex
from kiban.residents.models import Resident

BAND_YEARS = 5
OPEN_BAND_FROM = 100  # the last band: 100 or more


def years_before(day: date, years: int) -> date:
    """The same day ``years`` earlier; 29 February goes to the 28th in a year without it."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def count_age_bands(session: Session, tenant_code: str, on: date) -> list[AgeBand]:
    """The tenant's residents on ``on``, by age in completed years on that day and by sex.

    A resident counts from the day they became one (出生, 転入) up to the day before they
    were removed (転出, 死亡); someone born ``years_before(on, a)`` or earlier is ``a`` or older.
    """
    starts = list(range(0, OPEN_BAND_FROM + 1, BAND_YEARS))
    band = case(
        *(
            (Resident.birth_date > years_before(on, start + BAND_YEARS), index)
            for index, start in enumerate(starts[:-1])
        ),
        else_=len(starts) - 1,
    )
    statement = (
        select(Resident.sex, band, func.count())
        .where(
            Resident.tenant_code == tenant_code,
            Resident.became_resident_on <= on,
            or_(Resident.removed_on.is_(None), Resident.removed_on > on),
        )
        .group_by(Resident.sex, band)
    )
    counts = {(sex, index): count for sex, index, count in session.execute(statement)}
    bands = []
    for index, start in enumerate(starts):
        male = counts.get((Sex.MALE.value, index), 0)
        female = counts.get((Sex.FEMALE.value, index), 0)
        last = start + BAND_YEARS - 1 if start < OPEN_BAND_FROM else None
        bands.append(
            AgeBand(from_age=start, to_age=last, male=male, female=female, total=male + female)
        )
    return bands
