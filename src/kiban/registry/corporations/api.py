"""HTTP API of the corporation registry: public reference data, like the 法人番号公表サイト."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from kiban.core.access import PublicAccess
from kiban.core.dependencies import DbSession
from kiban.registry.corporations.models import CorporationKind
from kiban.registry.corporations.schemas import CorporationOut, CorporationPage
from kiban.registry.corporations.service import CorporationService

router = APIRouter(prefix="/registry/corporations", tags=["registry"], dependencies=[PublicAccess])

# Any text up to this length reaches the validator, which names what is wrong with it.
MAX_NUMBER_LENGTH = 64


@router.get("", response_model=CorporationPage)
def search_corporations(
    session: DbSession,
    q: Annotated[
        str | None,
        Query(max_length=64, description="Part of the name, or the start of its kana reading"),
    ] = None,
    lg_code: Annotated[
        str | None,
        Query(
            pattern=r"^\d{6}$",
            description="Municipality or ward; a designated city or prefecture includes its own",
        ),
    ] = None,
    kind: Annotated[list[CorporationKind] | None, Query(description="法人種別 codes")] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> CorporationPage:
    """Search corporations by name or reading, head-office area and kind, in kana order."""
    total, items = CorporationService(session).search(
        q, area_code=lg_code, kinds=kind or (), offset=offset, limit=limit
    )
    return CorporationPage(total=total, items=items)


@router.get("/{number}", response_model=CorporationOut)
def get_corporation(
    number: Annotated[
        str,
        Path(max_length=MAX_NUMBER_LENGTH, description="法人番号 (13 digits, check digit first)"),
    ],
    session: DbSession,
) -> CorporationOut:
    """One corporation by its 法人番号; a malformed number or wrong check digit is named as such."""
    return CorporationService(session).get(number)
