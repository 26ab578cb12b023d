"""The registry's HTTP side: the signed global configuration that gateways fetch, and the
services' OpenAPI documents."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from kiban.core.access import PublicAccess
from kiban.core.dependencies import DbSession
from kiban.core.errors import ProblemError
from kiban.identity.ca.authority import AuthorityNotInitialised
from kiban.mesh.configuration import MEDIA_TYPE, publish
from kiban.mesh.identifiers import InvalidMeshIdentifier, ServiceId
from kiban.mesh.registry.service import RegistryService

router = APIRouter(prefix="/mesh", tags=["mesh"])


@router.get(
    "/configuration",
    dependencies=[PublicAccess],
    response_class=Response,
    responses={200: {"content": {MEDIA_TYPE: {}}, "description": "A compact JWS"}},
)
def global_configuration(request: Request, session: DbSession) -> Response:
    """The signed global configuration (a compact JWS signed by the registry, with its
    certificate chain in ``x5c``); it expires after ten minutes.  Public: what it holds is
    what every gateway must know, and its signature is what makes it trustworthy."""
    try:
        token = publish(session, request.app.state.settings)
    except AuthorityNotInitialised:
        raise ProblemError(
            503,
            "mesh-registry-not-ready",
            "The registry cannot sign yet / 登録局が署名できません",
            "The certificate authority is not set up: run `kiban ca init`.",
        ) from None
    return Response(token, media_type=MEDIA_TYPE, headers={"Cache-Control": "no-store"})


@router.get(
    "/services/{service:path}/openapi",
    dependencies=[PublicAccess],
    response_class=Response,
    responses={200: {"content": {"application/json": {}}, "description": "OpenAPI 3"}},
)
def service_openapi(service: str, session: DbSession) -> Response:
    """A published service's OpenAPI document, as gateways hand it to callers through the
    ``getOpenAPI`` metaservice.  Public, like the configuration that names the services."""
    try:
        service_id = ServiceId.parse(service)
    except InvalidMeshIdentifier as error:
        raise ProblemError(
            400,
            "invalid-mesh-identifier",
            "Not a service identifier / 識別子が不正です",
            str(error),
        ) from None
    published = RegistryService(session).service(service_id)
    return Response(published.openapi, media_type="application/json")
