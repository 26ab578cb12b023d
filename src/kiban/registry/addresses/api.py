"""HTTP API of the address registry: public reference data."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from kiban.core.access import PublicAccess
from kiban.core.dependencies import DbSession
from kiban.core.errors import NotFound
from kiban.registry.addresses.repository import TownRepository
from kiban.registry.addresses.schemas import NormalizedAddressOut, TownOut
from kiban.registry.addresses.service import Normalizer

router = APIRouter(prefix="/registry/addresses", tags=["registry"], dependencies=[PublicAccess])

# Long enough for any real address with a building name; the normaliser itself takes anything.
MAX_ADDRESS_LENGTH = 10_240


@router.get("/normalize", response_model=NormalizedAddressOut)
def normalize_address(
    normalizer: Normalizer,
    q: Annotated[str, Query(max_length=MAX_ADDRESS_LENGTH, description="An address as written")],
) -> NormalizedAddressOut:
    """Split an address into prefecture, city, town (町字) and the rest, with a match level."""
    return NormalizedAddressOut.model_validate(normalizer.normalize(q))


@router.get("/postal-codes/{postal_code}", response_model=list[TownOut])
def towns_by_postal_code(
    postal_code: Annotated[str, Path(pattern=r"^\d{3}-?\d{4}$", description="郵便番号")],
    session: DbSession,
) -> list[TownOut]:
    """The towns a postal code covers."""
    towns = TownRepository(session).by_postal_code(postal_code.replace("-", ""))
    if not towns:
        raise NotFound(f"No town has the postal code {postal_code}.")
    return [TownOut.model_validate(town) for town in towns]
