"""Public page of the address registry: look up how an address is read."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from kiban.core.access import PublicAccess
from kiban.registry.addresses.normalizer import (
    LEVEL_CITY,
    LEVEL_NONE,
    LEVEL_PREFECTURE,
    LEVEL_TOWN,
)
from kiban.registry.addresses.service import get_normalizer
from kiban.web.templating import search_text_error, templates, without_control_characters

router = APIRouter(
    prefix="/address",
    dependencies=[PublicAccess],
    include_in_schema=False,
    default_response_class=HTMLResponse,
)

# Generous for an address with a building and room; a longer text is a paste gone wrong.
MAX_ADDRESS_LENGTH = 256

LEVEL_LABELS: dict[int, tuple[str, str]] = {
    LEVEL_NONE: ("一致なし", "No match"),
    LEVEL_PREFECTURE: ("都道府県まで一致", "Matched to the prefecture"),
    LEVEL_CITY: ("市区町村まで一致", "Matched to the municipality"),
    LEVEL_TOWN: ("町字まで一致", "Matched to the town (machiaza)"),
}
# abr-geocoder's levels beyond the town (番地, 号) read the same way here.
FINER_THAN_TOWN = ("町字より詳しく一致", "Matched beyond the town")


@router.get("")
def address_lookup(request: Request, q: str | None = None) -> Response:
    """The lookup form and, for ``q``, the address read as prefecture, municipality and town."""
    error = search_text_error(q, MAX_ADDRESS_LENGTH) if q else None
    # The normaliser is built on first use (seconds); the empty form does not wait for it.
    result = get_normalizer(request).normalize(q) if q and not error else None
    return templates.TemplateResponse(
        request,
        "address/lookup.html",
        {
            "query": without_control_characters(q or ""),
            "error": error,
            "result": result,
            "level_label": LEVEL_LABELS.get(result.level, FINER_THAN_TOWN) if result else None,
            "max_address_length": MAX_ADDRESS_LENGTH,
        },
        status_code=422 if error else 200,
    )
