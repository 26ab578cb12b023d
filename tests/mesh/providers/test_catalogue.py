"""The standard services' OpenAPI documents, true to the systems, and their publication."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from openapi_schema_validator import OAS31Validator, oas31_format_checker
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from companies import add_company
from kiban.mesh.identifiers import MemberId, SubsystemId
from kiban.mesh.openapi import operations, read_openapi
from kiban.mesh.providers.catalogue import (
    CORPORATION,
    MUNICIPAL_SERVICES,
    NATIONAL_SEGMENT,
    NATIONAL_SERVICES,
    NATIONAL_TAX_AGENCY,
    POPULATION_STATISTICS,
    StandardService,
    publish_standard,
)
from kiban.mesh.providers.keys import ProviderKeyService
from kiban.mesh.providers.synthetic import seed_incomes
from kiban.mesh.registry.access import AccessService, Endpoint, Grantee
from kiban.mesh.registry.service import RegistrationRefused, RegistryService
from kiban.residents.models import Resident
from kiban_command import run_kiban_in_process
from mesh.providers.providers_support import exchange_headers

EVERY_SERVICE = (*MUNICIPAL_SERVICES, *NATIONAL_SERVICES)


def _document(service: StandardService) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(service.openapi())
    return document


@pytest.mark.parametrize("service", EVERY_SERVICE, ids=lambda service: service.code)
def test_each_document_is_openapi_3_1_and_describes_the_systems_operations(
    client: TestClient, service: StandardService
) -> None:
    document = read_openapi(service.openapi())
    assert document["openapi"] == "3.1.0"
    owner = NATIONAL_SEGMENT if service in NATIONAL_SERVICES else "{tenant_code}"
    prefix = service.path(owner)
    served = {
        (method.upper(), path.removeprefix(prefix))
        for path, item in client.get("/openapi.json").json()["paths"].items()
        if path.startswith(prefix + "/")
        for method in item
    }
    assert served == operations(document)


def _answer_errors(service: StandardService, path: str, answer: Any) -> list[str]:
    """How ``answer`` departs from the schema of the operation's 200 answer (OpenAPI 3.1's
    dialect, formats checked), the document's components at hand for it to refer to."""
    document = _document(service)
    content = document["paths"][path]["get"]["responses"]["200"]["content"]
    schema = {**document, **content["application/json"]["schema"]}
    validator = OAS31Validator(schema, format_checker=oas31_format_checker)
    return [error.message for error in validator.iter_errors(answer)]


def test_every_answer_is_what_its_document_says(
    client: TestClient,
    db_session: Session,
    chiyoda: dict[str, str],
    yamada: list[Resident],
) -> None:
    number = yamada[1].addressee_number
    seed_incomes(db_session, ["131016"])
    RegistryService(db_session).request_member(
        NATIONAL_TAX_AGENCY, requested_by="op", name="国税庁"
    )
    RegistryService(db_session).approve_member(NATIONAL_TAX_AGENCY, operator="op")
    token = ProviderKeyService(db_session).create(NATIONAL_TAX_AGENCY, "gw", actor="op").token
    company = add_company(db_session, "700110005901", "株式会社霞が関商事", "カスミガセキショウジ")
    national = {"Authorization": f"Bearer {token}", **exchange_headers()}
    calls = [
        (MUNICIPAL_SERVICES[0], "/residents/{addressee_number}/certificate", number, chiyoda),
        (MUNICIPAL_SERVICES[1], "/residents/{addressee_number}/household", number, chiyoda),
        (MUNICIPAL_SERVICES[2], "/residents/{addressee_number}/income", number, chiyoda),
        (POPULATION_STATISTICS, "/age-bands", "", chiyoda),
        (CORPORATION, "/corporations/{corporate_number}", company, national),
    ]
    for service, path, identifier, headers in calls:
        owner = NATIONAL_SEGMENT if service is CORPORATION else "131016"
        target = path.replace("{addressee_number}", identifier).replace(
            "{corporate_number}", identifier
        )
        params = {"year": "2025"} if "income" in path else {"on": "2025-01-01"}
        response = client.get(service.path(owner) + target, params=params, headers=headers)
        assert response.status_code == 200, (path, response.text)
        assert _answer_errors(service, path, response.json()) == [], path


def _register(session: Session, member: MemberId, subsystems: list[str], name: str = "") -> None:
    registry = RegistryService(session)
    registry.request_member(member, requested_by="operator", name=name or None)
    registry.approve_member(member, operator="operator")
    for code in subsystems:
        registry.request_subsystem(SubsystemId.of(member, code), requested_by="operator")
        registry.approve_subsystem(SubsystemId.of(member, code), operator="operator")


def test_a_tenant_publishes_its_four_standard_services(
    db_session: Session, chiyoda: dict[str, str]
) -> None:
    chiyoda_member = MemberId.parse("JP/LG/131016")
    _register(db_session, chiyoda_member, ["juki", "tax"])
    published = publish_standard(db_session, chiyoda_member, published_by="operator")
    assert [(str(entry.service), entry.path) for entry in published] == [
        (
            "JP/LG/131016/juki/resident-certificate/v1",
            "/mesh-providers/131016/resident-certificate/v1",
        ),
        ("JP/LG/131016/juki/household/v1", "/mesh-providers/131016/household/v1"),
        (
            "JP/LG/131016/tax/tax-income-certificate/v1",
            "/mesh-providers/131016/tax-income-certificate/v1",
        ),
        (
            "JP/LG/131016/juki/population-statistics/v1",
            "/mesh-providers/131016/population-statistics/v1",
        ),
    ]
    registry = RegistryService(db_session)
    flags = {
        str(entry.service): registry.service(entry.service).personal_data for entry in published
    }
    assert flags == {
        "JP/LG/131016/juki/resident-certificate/v1": True,
        "JP/LG/131016/juki/household/v1": True,
        "JP/LG/131016/tax/tax-income-certificate/v1": True,
        "JP/LG/131016/juki/population-statistics/v1": False,
    }
    # Access rights can name the documented operations, with purposes for personal data.
    sapporo = MemberId.parse("JP/LG/011002")
    _register(db_session, sapporo, ["tax"])
    AccessService(db_session).grant(
        published[2].service,
        Grantee.parse("JP/LG/011002/tax"),
        endpoint=Endpoint.parse("GET /residents/{addressee_number}/income"),
        actor="operator",
        purposes=["child-allowance"],
    )


def test_publishing_needs_an_enabled_tenant_approved_subsystems_or_the_national_agency(
    db_session: Session, chiyoda: dict[str, str]
) -> None:
    hachioji = MemberId.parse("JP/LG/132012")
    _register(db_session, hachioji, ["juki", "tax"])
    with pytest.raises(RegistrationRefused, match="not a tenant"):
        publish_standard(db_session, hachioji, published_by="operator")
    chiyoda_member = MemberId.parse("JP/LG/131016")
    _register(db_session, chiyoda_member, ["juki"])
    with pytest.raises(RegistrationRefused, match="tax is not an approved subsystem"):
        publish_standard(db_session, chiyoda_member, published_by="operator")
    digital_agency = MemberId.parse("JP/GOV/6000012010023")
    _register(db_session, digital_agency, ["data"], name="デジタル庁")
    with pytest.raises(RegistrationRefused, match="no standard services"):
        publish_standard(db_session, digital_agency, published_by="operator")
    _register(db_session, NATIONAL_TAX_AGENCY, ["corporate-number"], name="国税庁")
    (published,) = publish_standard(db_session, NATIONAL_TAX_AGENCY, published_by="operator")
    assert str(published.service) == "JP/GOV/7000012050002/corporate-number/corporation/v1"
    assert published.path == "/mesh-providers/national/corporation/v1"
    assert RegistryService(db_session).service(published.service).personal_data is False


# The operator's commands -------------------------------------------------------------------


@pytest.fixture(scope="module")
def database(private_engine: Engine) -> str:
    return private_engine.url.render_as_string(hide_password=False)


def _kiban(database: str, *arguments: str) -> Any:
    return run_kiban_in_process(*arguments, database_url=database)


def test_the_operator_publishes_a_tenants_standard_services(database: str) -> None:
    assert _kiban(database, "tenant", "enable", "131016").returncode == 0
    for arguments in (
        ("member", "request", "JP/LG/131016"),
        ("member", "approve", "JP/LG/131016"),
        ("subsystem", "request", "JP/LG/131016/juki"),
        ("subsystem", "approve", "JP/LG/131016/juki"),
        ("subsystem", "request", "JP/LG/131016/tax"),
    ):
        assert _kiban(database, "mesh", *arguments).returncode == 0
    refused = _kiban(database, "mesh", "services", "publish-standard", "JP/LG/131016")
    assert (refused.returncode, refused.stdout) == (2, "")
    assert refused.stderr.startswith("kiban: error: JP/LG/131016/tax is not an approved")
    listed = _kiban(database, "mesh", "service", "list")
    assert list(csv.DictReader(io.StringIO(listed.stdout))) == []  # all or none
    assert _kiban(database, "mesh", "subsystem", "approve", "JP/LG/131016/tax").returncode == 0
    published = _kiban(database, "mesh", "services", "publish-standard", "JP/LG/131016")
    assert published.returncode == 0, published.stderr
    lines = published.stdout.splitlines()
    assert lines[0] == (
        "JP/LG/131016/juki/resident-certificate/v1: published at"
        " http://127.0.0.1:8000/mesh-providers/131016/resident-certificate/v1 / 公開しました"
    )
    assert len(lines) == 4
    shown = _kiban(database, "mesh", "service", "openapi", "JP/LG/131016/juki/household/v1")
    assert json.loads(shown.stdout)["info"]["title"] == "世帯情報 / Household"


def test_the_operator_issues_and_revokes_a_national_providers_key(database: str) -> None:
    agency = str(NATIONAL_TAX_AGENCY)
    assert _kiban(database, "mesh", "member", "request", agency, "--name", "国税庁").returncode == 0
    assert _kiban(database, "mesh", "member", "approve", agency).returncode == 0
    created = _kiban(database, "mesh", "services", "key", "create", agency, "--name", "gateway")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert token.startswith("kibanmesh_GOV_7000012050002_")
    assert "not shown again" in created.stderr
    (key,) = csv.DictReader(
        io.StringIO(_kiban(database, "mesh", "services", "key", "list", agency).stdout)
    )
    assert (key["name"], key["created_by"], key["revoked_at"]) == ("gateway", "operator", "")
    assert token.split("_", 4)[4] not in str(key)
    revoked = _kiban(database, "mesh", "services", "key", "revoke", agency, key["key_id"])
    assert revoked.stdout == f"{agency}: key {key['key_id']} revoked / 失効しました\n"
    refused = _kiban(database, "mesh", "services", "key", "create", "JP/LG/131016", "--name", "gw")
    assert refused.returncode == 2
    assert "tenant API key" in refused.stderr
