"""HTTP API of the local-government registry: public reference data."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from kiban.core.access import PublicAccess
from kiban.core.dependencies import DbSession
from kiban.core.errors import NotFound, ProblemError
from kiban.core.identifiers import InvalidIdentifier, validate_local_government_code
from kiban.registry.localgov.derive import LocalGovernmentKind
from kiban.registry.localgov.repository import LocalGovernmentRepository
from kiban.registry.localgov.schemas import LocalGovernmentOut, LocalGovernmentPage

router = APIRouter(
    prefix="/registry/local-governments", tags=["registry"], dependencies=[PublicAccess]
)

LgCode = Annotated[str, Path(pattern=r"^\d{6}$", description="全国地方公共団体コード")]


@router.get("", response_model=LocalGovernmentPage)
def list_local_governments(
    session: DbSession,
    q: Annotated[
        str | None, Query(max_length=64, description="Name, reading or code prefix")
    ] = None,
    kind: Annotated[list[LocalGovernmentKind] | None, Query()] = None,
    prefecture: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
    parent: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=2000)] = 100,
) -> LocalGovernmentPage:
    """List or search local governments (都道府県・市区町村・行政区)."""
    total, items = LocalGovernmentRepository(session).search(
        query=q,
        kinds=kind or (),
        prefecture_code=prefecture,
        parent_code=parent,
        offset=offset,
        limit=limit,
    )
    return LocalGovernmentPage(
        total=total, items=[LocalGovernmentOut.model_validate(item) for item in items]
    )


@router.get("/{code}", response_model=LocalGovernmentOut)
def get_local_government(code: LgCode, session: DbSession) -> LocalGovernmentOut:
    """One local government by its 6-digit code; a wrong check digit is named as such."""
    try:
        validate_local_government_code(code)
    except InvalidIdentifier as error:
        raise ProblemError(
            422, "invalid-identifier", "Invalid code / コードが不正です", str(error)
        ) from error
    body = LocalGovernmentRepository(session).get(code)
    if body is None:
        raise NotFound(f"No local government has the code {code}.")
    return LocalGovernmentOut.model_validate(body)
