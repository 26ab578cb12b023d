"""Registered members and services with their OpenAPI documents, for the mesh tests."""

from __future__ import annotations

from collections.abc import Sequence

from kiban.mesh.identifiers import MemberId, ServiceId, SubsystemId
from kiban.mesh.registry.service import RegistryService

RESIDENT_CERTIFICATE = """\
openapi: 3.1.0
info: {title: 住民票情報 / Resident certificate, version: "1"}
paths:
  /residents/{addressee_number}/certificate:
    get:
      parameters:
        - {name: addressee_number, in: path, required: true, schema: {type: string}}
      responses:
        "200": {description: 住民票の記載事項}
  /residents/{addressee_number}/household:
    get:
      parameters:
        - {name: addressee_number, in: path, required: true, schema: {type: string}}
      responses:
        "200": {description: 世帯}
"""


def register(
    registry: RegistryService,
    members: Sequence[MemberId],
    subsystems: Sequence[SubsystemId],
    service: ServiceId | None = None,
) -> None:
    """Approve ``members`` and ``subsystems``; publish ``service`` with RESIDENT_CERTIFICATE."""
    for member in members:
        registry.request_member(member, requested_by="operator")
        registry.approve_member(member, operator="operator")
    for subsystem in subsystems:
        registry.request_subsystem(subsystem, requested_by="operator")
        registry.approve_subsystem(subsystem, operator="operator")
    if service is not None:
        publish(registry, service)


def publish(registry: RegistryService, service: ServiceId, *, personal_data: bool = True) -> None:
    """Publish ``service`` with RESIDENT_CERTIFICATE, with or without personal data."""
    registry.publish_service(
        service,
        title="住民票情報",
        openapi=RESIDENT_CERTIFICATE,
        personal_data=personal_data,
        published_by="operator",
    )
