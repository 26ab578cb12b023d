"""Metaservices: what the mesh offers, asked of one's own gateway.

As X-Road's, but answered by the consumer's own gateway from the signed configuration (and,
for ``getOpenAPI``, the registry), so that asking what exists costs no provider anything:

* ``GET /r1/JP/listClients``: the approved members and subsystems;
* ``GET /r1/{subsystem}/listMethods``: the services a subsystem provides;
* ``GET /r1/{subsystem}/allowedMethods``: of those, what the caller (``Kiban-Client``) may
  call: each service with the operations and, for personal data, the purposes;
* ``GET /r1/{subsystem}/getOpenAPI?serviceCode={service}[/v{n}]``: a service's OpenAPI
  document, for a caller with a right to the service.

Metaservice names are camel case, so that no service code (lower case) can take them.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime

import httpx2
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from kiban.mesh.gateway.fetcher import MeshView
from kiban.mesh.gateway.problems import problem_response
from kiban.mesh.gateway.protocol import PREFIX
from kiban.mesh.identifiers import INSTANCE, InvalidMeshIdentifier, ServiceId, SubsystemId
from kiban.mesh.policy import Right

LIST_CLIENTS = "listClients"
OF_A_SUBSYSTEM = ("listMethods", "allowedMethods", "getOpenAPI")
_CACHED_DOCUMENTS = 256


class Metaservices:
    """Answers the metaservices for the member's own systems."""

    def __init__(self, registry_url: str, client: httpx2.AsyncClient) -> None:
        self.registry_url = registry_url.rstrip("/")
        self.client = client
        # (service, configuration issued at) → document: a service's document changes only
        # when it is published again, which a new configuration follows.
        self._documents: OrderedDict[tuple[ServiceId, datetime], bytes] = OrderedDict()

    @staticmethod
    def named(path: str) -> tuple[str, str] | None:
        """The metaservice a path asks for, with what it is about; None for a service call."""
        segments = path[len(PREFIX) :].split("/") if path.startswith(PREFIX) else []
        if segments == [INSTANCE, LIST_CLIENTS]:
            return LIST_CLIENTS, INSTANCE
        if len(segments) == 5 and segments[4] in OF_A_SUBSYSTEM:
            return segments[4], "/".join(segments[:4])
        return None

    async def answer(
        self, view: MeshView, name: str, about: str, client: SubsystemId, request: Request
    ) -> Response:
        policy = view.policy
        if name == LIST_CLIENTS:
            return JSONResponse(
                {
                    "members": [
                        {"id": str(member), "name": member_name}
                        for member, member_name in sorted(policy.members.items())
                    ],
                    "subsystems": sorted(str(subsystem) for subsystem in policy.subsystems),
                }
            )
        try:
            subsystem = SubsystemId.parse(about)
        except InvalidMeshIdentifier as error:
            return problem_response("bad-request", str(error))
        services = policy.services_of(subsystem)
        if name == "listMethods":
            return JSONResponse(
                {
                    "services": [
                        {
                            "id": str(info.id),
                            "title": info.title,
                            "personal_data": info.personal_data,
                        }
                        for info in services
                    ]
                }
            )
        if name == "allowedMethods":
            return JSONResponse(
                {
                    "services": [
                        {
                            "id": str(info.id),
                            "title": info.title,
                            "personal_data": info.personal_data,
                            "operations": _operations(rights),
                        }
                        for info in services
                        if (rights := policy.granted(client, info.id))
                    ]
                }
            )
        return await self._openapi(view, subsystem, client, request)

    async def _openapi(
        self, view: MeshView, subsystem: SubsystemId, client: SubsystemId, request: Request
    ) -> Response:
        code = request.query_params.get("serviceCode", "")
        try:
            service = ServiceId.parse(f"{subsystem}/{code}")
        except InvalidMeshIdentifier as error:
            return problem_response("bad-request", f"serviceCode: {error}")
        if view.policy.service(service) is None:
            return problem_response("unknown-service", f"{service} is not published")
        if not view.policy.granted(client, service):
            return problem_response("access-denied", f"{client} has no right to {service}")
        key = (service, view.configuration.issued_at)
        document = self._documents.get(key)
        if document is None:
            try:
                fetched = await self.client.get(
                    f"{self.registry_url}/mesh/services/{service}/openapi"
                )
            except httpx2.HTTPError as error:
                return problem_response(
                    "provider-unreachable", f"the registry: {type(error).__name__}"
                )
            if fetched.status_code != 200:
                return problem_response(
                    "unknown-service", f"the registry has no document for {service}"
                )
            document = fetched.content
            self._documents[key] = document
            while len(self._documents) > _CACHED_DOCUMENTS:
                self._documents.popitem(last=False)
        return Response(document, media_type="application/json")


def _operations(rights: list[Right]) -> list[dict[str, object]]:
    """The operations ``rights`` cover (``*``: all), each with the purposes allowed."""
    purposes: dict[tuple[str, str], set[str]] = {}
    for right in rights:
        purposes.setdefault((right.method, right.path), set()).update(right.purposes)
    return [
        {"method": method, "path": path, "purposes": sorted(allowed)}
        for (method, path), allowed in sorted(purposes.items())
    ]
