"""The standard services kiban provides, and their publication on the mesh registry.

Every municipality that uses kiban provides the same four services from its records, under
the same identifiers and OpenAPI documents; the national tax agency provides the corporation
service from the corporation registry.  Each service is reached at a base URL of ``kiban
serve`` — its provider system — to which the provider's gateway appends the path within the
service (``gateway.toml``'s ``[services]``).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from sqlalchemy.orm import Session

from kiban.core.tenancy import Tenant
from kiban.mesh.identifiers import MemberClass, MemberId, ServiceId, SubsystemId
from kiban.mesh.registry.service import RegistrationRefused, RegistryService

PROVIDERS_PATH = "/mesh-providers"
# 国税庁, which assigns and publishes the 法人番号, by its own 法人番号.
NATIONAL_TAX_AGENCY = MemberId.of(MemberClass.GOV, "7000012050002")
NATIONAL_SEGMENT = "national"


@dataclass(frozen=True, slots=True)
class StandardService:
    subsystem: str
    code: str
    version: str
    title: str
    personal_data: bool

    def id_for(self, member: MemberId) -> ServiceId:
        return ServiceId.of(SubsystemId.of(member, self.subsystem), self.code, self.version)

    def openapi(self) -> str:
        """Its OpenAPI 3.1 document (YAML), shipped in this package."""
        document = resources.files("kiban.mesh.providers").joinpath("openapi", f"{self.code}.yaml")
        return document.read_text(encoding="utf-8")

    def path(self, owner: str) -> str:
        """Where ``kiban serve`` provides it: ``owner`` is a tenant's code, or a path template."""
        return f"{PROVIDERS_PATH}/{owner}/{self.code}/{self.version}"


RESIDENT_CERTIFICATE = StandardService(
    "juki", "resident-certificate", "v1", "住民票情報 / Resident certificate", personal_data=True
)
HOUSEHOLD = StandardService("juki", "household", "v1", "世帯情報 / Household", personal_data=True)
TAX_INCOME_CERTIFICATE = StandardService(
    "tax",
    "tax-income-certificate",
    "v1",
    "所得証明 / Income and resident tax certificate",
    personal_data=True,
)
POPULATION_STATISTICS = StandardService(
    "juki",
    "population-statistics",
    "v1",
    "年齢別人口 / Population by age band",
    personal_data=False,
)
CORPORATION = StandardService(
    "corporate-number", "corporation", "v1", "法人情報 / Corporation", personal_data=False
)

MUNICIPAL_SERVICES = (
    RESIDENT_CERTIFICATE,
    HOUSEHOLD,
    TAX_INCOME_CERTIFICATE,
    POPULATION_STATISTICS,
)
NATIONAL_SERVICES = (CORPORATION,)


def standard_services(session: Session, member: MemberId) -> tuple[StandardService, ...]:
    """The services kiban provides for ``member``: a tenant's four, or the national ones."""
    if member.member_class is MemberClass.LG:
        if session.get(Tenant, member.code) is None:
            raise RegistrationRefused(
                f"{member} is not a tenant of this deployment: kiban provides its services once"
                f" it is (kiban tenant enable {member.code})"
            )
        return MUNICIPAL_SERVICES
    if member == NATIONAL_TAX_AGENCY:
        return NATIONAL_SERVICES
    raise RegistrationRefused(f"kiban provides no standard services for {member}")


@dataclass(frozen=True, slots=True)
class PublishedService:
    service: ServiceId
    path: str  # where ``kiban serve`` provides it, the base of its URL in gateway.toml


def backend_path(member: MemberId, service: StandardService) -> str:
    """The path of ``kiban serve`` that ``gateway.toml`` names for ``member``'s ``service``."""
    owner = member.code if member.member_class is MemberClass.LG else NATIONAL_SEGMENT
    return service.path(owner)


def publish_standard(
    session: Session, member: MemberId, *, published_by: str
) -> list[PublishedService]:
    """Publish (or describe anew) every standard service kiban provides for ``member``, all
    or none: each needs its subsystem approved on the registry first."""
    registry = RegistryService(session)
    published = []
    for service in standard_services(session, member):
        identifier = service.id_for(member)
        registry.publish_service(
            identifier,
            title=service.title,
            openapi=service.openapi(),
            personal_data=service.personal_data,
            published_by=published_by,
        )
        published.append(PublishedService(identifier, backend_path(member, service)))
    return published
