"""The provider systems' HTTP endpoints in ``kiban serve``, which providers' gateways call.

Each standard service has a base URL per provider (kiban.mesh.providers.catalogue): a tenant's
``/mesh-providers/{tenant_code}/{service}/v1`` and the national
``/mesh-providers/national/corporation/v1``; the gateway appends the path within the service.
Only the provider's own gateway is admitted (kiban.mesh.providers.access).  An answer about
one person names them in ``Kiban-Data-Subject`` (their 宛名番号), which the gateway keeps for
the data tracker and never passes on; statistics and corporations name nobody.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from kiban.core.dependencies import DbSession
from kiban.mesh.gateway.protocol import DATA_SUBJECT
from kiban.mesh.providers.access import (
    TenantGateway,
    member_gateway_access,
    mesh_exchange,
    personal_data_exchange,
    tenant_gateway_access,
)
from kiban.mesh.providers.catalogue import (
    CORPORATION,
    HOUSEHOLD,
    NATIONAL_SEGMENT,
    NATIONAL_TAX_AGENCY,
    POPULATION_STATISTICS,
    RESIDENT_CERTIFICATE,
    TAX_INCOME_CERTIFICATE,
    StandardService,
)
from kiban.mesh.providers.schemas import (
    AgeBands,
    HouseholdAnswer,
    IncomeCertificate,
    ResidentCertificate,
)
from kiban.mesh.providers.service import ProviderService
from kiban.registry.corporations.api import MAX_NUMBER_LENGTH
from kiban.registry.corporations.schemas import CorporationOut
from kiban.registry.corporations.service import CorporationService
from kiban.residents.schemas import AddresseeNumber

AddresseeNumberPath = Annotated[AddresseeNumber, Path(description="宛名番号")]
_TENANT = "{tenant_code}"


def _tenant_router(service: StandardService) -> APIRouter:
    """A tenant's service: its gateway's key first, then the exchange's ``Kiban-*`` headers."""
    exchange = personal_data_exchange if service.personal_data else mesh_exchange
    return APIRouter(
        prefix=service.path(_TENANT),
        tags=["mesh providers"],
        dependencies=[Depends(tenant_gateway_access), Depends(exchange)],
    )


resident_certificate_router = _tenant_router(RESIDENT_CERTIFICATE)
household_router = _tenant_router(HOUSEHOLD)
income_router = _tenant_router(TAX_INCOME_CERTIFICATE)
population_router = _tenant_router(POPULATION_STATISTICS)
corporation_router = APIRouter(
    prefix=CORPORATION.path(NATIONAL_SEGMENT),
    tags=["mesh providers"],
    dependencies=[Depends(member_gateway_access(NATIONAL_TAX_AGENCY)), Depends(mesh_exchange)],
)


@resident_certificate_router.get(
    "/residents/{addressee_number}/certificate", response_model=ResidentCertificate
)
def resident_certificate(
    caller: TenantGateway,
    addressee_number: AddresseeNumberPath,
    session: DbSession,
    response: Response,
) -> ResidentCertificate:
    """住民票情報: the certificate of one current resident."""
    certificate = ProviderService(session, caller.tenant_code).certificate(addressee_number)
    response.headers[DATA_SUBJECT] = certificate.addressee_number
    return certificate


@household_router.get("/residents/{addressee_number}/household", response_model=HouseholdAnswer)
def household(
    caller: TenantGateway,
    addressee_number: AddresseeNumberPath,
    session: DbSession,
    response: Response,
) -> HouseholdAnswer:
    """世帯情報: the current members of a current resident's household."""
    answer = ProviderService(session, caller.tenant_code).household(addressee_number)
    response.headers[DATA_SUBJECT] = answer.addressee_number
    return answer


@income_router.get("/residents/{addressee_number}/income", response_model=IncomeCertificate)
def income_certificate(
    caller: TenantGateway,
    addressee_number: AddresseeNumberPath,
    year: Annotated[int, Query(ge=1990, le=2200, description="年度 of the resident tax")],
    session: DbSession,
    response: Response,
) -> IncomeCertificate:
    """所得証明: a fiscal year's assessment of one person's income and resident tax."""
    certificate = ProviderService(session, caller.tenant_code).income(addressee_number, year)
    response.headers[DATA_SUBJECT] = certificate.addressee_number
    return certificate


@population_router.get("/age-bands", response_model=AgeBands)
def age_bands(
    caller: TenantGateway,
    on: Annotated[date, Query(description="The day counted, not in the future")],
    session: DbSession,
) -> AgeBands:
    """年齢別人口: the residents on a day by 5-year age band and sex; counts only."""
    return ProviderService(session, caller.tenant_code).age_bands(on)


@corporation_router.get("/corporations/{corporate_number}", response_model=CorporationOut)
def corporation(
    corporate_number: Annotated[
        str,
        Path(max_length=MAX_NUMBER_LENGTH, description="法人番号 (13 digits, check digit first)"),
    ],
    session: DbSession,
) -> CorporationOut:
    """法人情報: one corporation from the corporation registry."""
    return CorporationService(session).get(corporate_number)


router = APIRouter()
for _router in (
    resident_certificate_router,
    household_router,
    income_router,
    population_router,
    corporation_router,
):
    router.include_router(_router)
