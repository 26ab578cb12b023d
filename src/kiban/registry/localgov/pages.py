"""Public pages of the local-government registry: prefectures, their municipalities, their towns."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from kiban.core.access import PublicAccess
from kiban.core.dependencies import DbSession
from kiban.core.errors import NotFound
from kiban.core.identifiers import local_government_check_digit
from kiban.registry.addresses.repository import TownRepository
from kiban.registry.localgov.derive import LocalGovernmentKind
from kiban.registry.localgov.models import LocalGovernment
from kiban.registry.localgov.repository import LocalGovernmentRepository
from kiban.web.templating import search_text_error, templates, without_control_characters

router = APIRouter(
    prefix="/local-governments",
    dependencies=[PublicAccess],
    include_in_schema=False,
    default_response_class=HTMLResponse,
)

MAX_QUERY_LENGTH = 64  # as the API's search; longer than any name or reading
MAX_RESULTS = 100
# ASCII digits only: the code is looked up as given, and PostgreSQL refuses NUL in text.
_CODE = re.compile(r"[0-9]{6}")

KIND_LABELS: dict[str, tuple[str, str]] = {
    LocalGovernmentKind.PREFECTURE: ("都道府県", "Prefecture"),
    LocalGovernmentKind.DESIGNATED_CITY: ("政令指定都市", "Designated city"),
    LocalGovernmentKind.WARD: ("行政区", "Ward of a designated city"),
    LocalGovernmentKind.CITY: ("市", "City"),
    LocalGovernmentKind.SPECIAL_WARD: ("特別区", "Special ward"),
    LocalGovernmentKind.TOWN: ("町", "Town"),
    LocalGovernmentKind.VILLAGE: ("村", "Village"),
}


@dataclass(frozen=True, slots=True)
class DesignatedCity:
    city: LocalGovernment
    wards: list[LocalGovernment]


@dataclass(frozen=True, slots=True)
class County:
    name: str | None  # None for towns and villages in no county (Tokyo's islands)
    members: list[LocalGovernment]


@dataclass(slots=True)
class PrefectureMunicipalities:
    """A prefecture's municipalities in the sections people look them up by, each in code order."""

    designated_cities: list[DesignatedCity] = field(default_factory=list)
    special_wards: list[LocalGovernment] = field(default_factory=list)
    cities: list[LocalGovernment] = field(default_factory=list)
    counties: list[County] = field(default_factory=list)


def group_municipalities(bodies: Iterable[LocalGovernment]) -> PrefectureMunicipalities:
    """Sort a prefecture's bodies into designated cities with their wards, special wards, cities,
    and towns and villages by county."""
    grouped = PrefectureMunicipalities()
    wards_by_city: dict[str, list[LocalGovernment]] = {}
    counties: dict[str | None, list[LocalGovernment]] = {}
    for body in sorted(bodies, key=lambda body: body.code):
        match body.kind:
            case LocalGovernmentKind.DESIGNATED_CITY:
                wards_by_city[body.code] = []
                grouped.designated_cities.append(DesignatedCity(body, wards_by_city[body.code]))
            case LocalGovernmentKind.WARD if body.parent_code is not None:
                wards_by_city.setdefault(body.parent_code, []).append(body)
            case LocalGovernmentKind.SPECIAL_WARD:
                grouped.special_wards.append(body)
            case LocalGovernmentKind.CITY:
                grouped.cities.append(body)
            case LocalGovernmentKind.TOWN | LocalGovernmentKind.VILLAGE:
                counties.setdefault(body.county, []).append(body)
    grouped.counties = [County(name, members) for name, members in counties.items()]
    return grouped


def _why_no_body_has(code: str) -> str:
    """Why no page exists for ``code``, telling a typing slip from an unknown code."""
    if not _CODE.fullmatch(code):
        return "地方公共団体コードは6桁の数字です。 / A local government code is six digits."
    if local_government_check_digit(code[:5]) != code[5]:
        return (
            f"{code} は検査数字（6桁目）が正しくありません。"
            f" / The check digit (the sixth digit) of {code} is wrong."
        )
    return f"{code} の地方公共団体はありません。 / No local government has the code {code}."


@router.get("")
def directory(request: Request, session: DbSession, q: str | None = None) -> Response:
    """The 47 prefectures, and the bodies whose name, reading or code matches ``q``."""
    repository = LocalGovernmentRepository(session)
    _, prefectures = repository.search(kinds=[LocalGovernmentKind.PREFECTURE])
    error = search_text_error(q, MAX_QUERY_LENGTH) if q else None
    # Full-width digits and half-width katakana are as likely as their standard forms.
    query = unicodedata.normalize("NFKC", q).strip() if q and not error else ""
    total, results = repository.search(query=query, limit=MAX_RESULTS) if query else (0, [])
    return templates.TemplateResponse(
        request,
        "localgov/directory.html",
        {
            "prefectures": prefectures,
            "prefecture_names": {prefecture.code: prefecture.name for prefecture in prefectures},
            "query": without_control_characters(q or ""),
            "searched": bool(query),
            "error": error,
            "total": total,
            "results": results,
            "max_query_length": MAX_QUERY_LENGTH,
            "kind_labels": KIND_LABELS,
        },
        status_code=422 if error else 200,
    )


@router.get("/{code}")
def local_government(request: Request, code: str, session: DbSession) -> Response:
    """A prefecture with its municipalities, or a municipality or ward with its towns."""
    repository = LocalGovernmentRepository(session)
    body = repository.get(code) if _CODE.fullmatch(code) else None
    if body is None:
        raise NotFound(_why_no_body_has(code))
    if body.kind == LocalGovernmentKind.PREFECTURE:
        _, members = repository.search(prefecture_code=code)
        return templates.TemplateResponse(
            request,
            "localgov/prefecture.html",
            {
                "prefecture": body,
                "municipalities": group_municipalities(members),
                "kind_labels": KIND_LABELS,
            },
        )
    parent = repository.get(body.parent_code) if body.parent_code else None
    wards = (
        repository.search(parent_code=code)[1]
        if body.kind == LocalGovernmentKind.DESIGNATED_CITY
        else []
    )
    return templates.TemplateResponse(
        request,
        "localgov/municipality.html",
        {
            "body": body,
            "prefecture": repository.get(body.prefecture_code),
            "parent": parent,
            "wards": wards,
            "towns": TownRepository(session).towns_of(code),
            "kind_labels": KIND_LABELS,
        },
    )
