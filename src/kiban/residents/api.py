"""HTTP API of resident records: each tenant reads and changes its own residents only.

Every route needs one of the tenant's API keys or its signed-in staff (``TenantAccess``); a
key or staff member of another tenant is refused with 403 before anything is read, and an
auditor may read but not record movements (``RecordKeeper``).  Search criteria travel in the
query string, which the request log does not record.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, status

from kiban.core.crypto import PersonalNumberHasher, personal_number_hasher
from kiban.core.dependencies import DbSession
from kiban.core.errors import ProblemError
from kiban.core.tenancy import RecordKeeper, TenantAccess
from kiban.residents.codes import Relationship, ResidentStatus
from kiban.residents.models import Household, Resident
from kiban.residents.schemas import (
    AddresseeNumber,
    AddressOut,
    BirthIn,
    DeathIn,
    HouseholdNumber,
    HouseholdOut,
    MovementOut,
    MovingInIn,
    MovingOutIn,
    RelocationIn,
    ResidentDetail,
    ResidentPage,
    ResidentSummary,
    normalize_kana,
)
from kiban.residents.service import ResidentService

router = APIRouter(prefix="/tenants/{tenant_code}", tags=["residents"])

AddresseeNumberPath = Annotated[AddresseeNumber, Path(description="宛名番号")]
HouseholdNumberPath = Annotated[HouseholdNumber, Path(description="世帯番号")]


def _service(request: Request, session: DbSession, caller_tenant: str) -> ResidentService:
    state = request.app.state
    # One hasher per application: the secret key is read once, not on every request.
    if not hasattr(state, "personal_number_hasher"):
        state.personal_number_hasher = personal_number_hasher(state.settings)
    hasher: PersonalNumberHasher = state.personal_number_hasher
    return ResidentService(session, caller_tenant, hasher)


def _summary(resident: Resident) -> ResidentSummary:
    return ResidentSummary(
        addressee_number=resident.addressee_number,
        family_name=resident.family_name,
        given_name=resident.given_name,
        family_name_kana=resident.family_name_kana,
        given_name_kana=resident.given_name_kana,
        birth_date=resident.birth_date,
        sex=resident.sex,
        status=resident.status,
        household_number=resident.household_number,
        relationship=resident.relationship,
        address=AddressOut(
            lg_code=resident.lg_code,
            town_name=resident.town_name,
            banchi=resident.banchi,
            katagaki=resident.katagaki,
        ),
    )


def _household(household: Household, members: list[Resident]) -> HouseholdOut:
    current = [member for member in members if member.status == ResidentStatus.RESIDENT]
    former = [member for member in members if member.status != ResidentStatus.RESIDENT]
    head = next((member for member in current if member.relationship == Relationship.HEAD), None)
    return HouseholdOut(
        household_number=household.household_number,
        formed_on=household.formed_on,
        head_addressee_number=head.addressee_number if head else None,
        members=[_summary(member) for member in current + former],
    )


def _detail(service: ResidentService, resident: Resident) -> ResidentDetail:
    household, members = service.household(resident.household_number)
    return ResidentDetail(
        **_summary(resident).model_dump(),
        resident_record_code=resident.resident_record_code,
        became_resident_on=resident.became_resident_on,
        address_set_on=resident.address_set_on,
        notified_on=resident.notified_on,
        removed_on=resident.removed_on,
        household=_household(household, members),
        movements=[
            MovementOut.model_validate(movement)
            for movement in service.movements(resident.addressee_number)
        ],
    )


@router.get("/residents", response_model=ResidentPage)
def search_residents(
    caller: TenantAccess,
    request: Request,
    session: DbSession,
    kana: Annotated[
        str | None,
        Query(
            max_length=64,
            description="Reading: family name prefix, or 'family given' (given name prefix)"
            " / フリガナ",
        ),
    ] = None,
    birth_date: Annotated[date | None, Query(description="生年月日")] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> ResidentPage:
    """Search this tenant's residents by reading and/or birth date / 住民の検索."""
    family, given = _reading(kana)
    if family is None and birth_date is None:
        raise ProblemError(
            422,
            "invalid-request",
            "Invalid request / リクエストが不正です",
            "Give kana or birth_date / フリガナか生年月日を指定してください",
        )
    total, residents = _service(request, session, caller.tenant_code).search(
        family_name_kana=family,
        given_name_kana_prefix=given,
        birth_date=birth_date,
        offset=offset,
        limit=limit,
    )
    return ResidentPage(total=total, items=[_summary(resident) for resident in residents])


def _reading(kana: str | None) -> tuple[str | None, str | None]:
    if kana is None or not kana.strip():
        return None, None
    family, _, given = kana.strip().replace("　", " ").partition(" ")
    return normalize_kana(family), (normalize_kana(given) or None)


@router.get("/residents/{addressee_number}", response_model=ResidentDetail)
def get_resident(
    caller: TenantAccess,
    addressee_number: AddresseeNumberPath,
    request: Request,
    session: DbSession,
) -> ResidentDetail:
    """One resident with their household and movement history / 住民記録の照会."""
    service = _service(request, session, caller.tenant_code)
    return _detail(service, service.resident(addressee_number))


@router.get("/households/{household_number}", response_model=HouseholdOut)
def get_household(
    caller: TenantAccess,
    household_number: HouseholdNumberPath,
    request: Request,
    session: DbSession,
) -> HouseholdOut:
    """One household and its members / 世帯の照会."""
    household, members = _service(request, session, caller.tenant_code).household(household_number)
    return _household(household, members)


@router.post(
    "/residents/births", response_model=ResidentDetail, status_code=status.HTTP_201_CREATED
)
def register_birth(
    caller: RecordKeeper, notification: BirthIn, request: Request, session: DbSession
) -> ResidentDetail:
    """出生届: record a birth."""
    service = _service(request, session, caller.tenant_code)
    return _detail(service, service.register_birth(notification))


@router.post(
    "/residents/moving-ins", response_model=ResidentDetail, status_code=status.HTTP_201_CREATED
)
def register_moving_in(
    caller: RecordKeeper, notification: MovingInIn, request: Request, session: DbSession
) -> ResidentDetail:
    """転入届: record a person moving in from another municipality."""
    service = _service(request, session, caller.tenant_code)
    return _detail(service, service.register_moving_in(notification))


@router.post(
    "/residents/{addressee_number}/relocations",
    response_model=ResidentDetail,
    status_code=status.HTTP_201_CREATED,
)
def relocate(
    caller: RecordKeeper,
    addressee_number: AddresseeNumberPath,
    notification: RelocationIn,
    request: Request,
    session: DbSession,
) -> ResidentDetail:
    """転居届: record a move within the municipality."""
    service = _service(request, session, caller.tenant_code)
    return _detail(service, service.relocate(addressee_number, notification))


@router.post(
    "/residents/{addressee_number}/moving-outs",
    response_model=ResidentDetail,
    status_code=status.HTTP_201_CREATED,
)
def move_out(
    caller: RecordKeeper,
    addressee_number: AddresseeNumberPath,
    notification: MovingOutIn,
    request: Request,
    session: DbSession,
) -> ResidentDetail:
    """転出届: record a move to another municipality."""
    service = _service(request, session, caller.tenant_code)
    return _detail(service, service.move_out(addressee_number, notification))


@router.post(
    "/residents/{addressee_number}/deaths",
    response_model=ResidentDetail,
    status_code=status.HTTP_201_CREATED,
)
def record_death(
    caller: RecordKeeper,
    addressee_number: AddresseeNumberPath,
    notification: DeathIn,
    request: Request,
    session: DbSession,
) -> ResidentDetail:
    """死亡届: record a death."""
    service = _service(request, session, caller.tenant_code)
    return _detail(service, service.record_death(addressee_number, notification))
