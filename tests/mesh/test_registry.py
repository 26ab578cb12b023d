"""The central registry: joining is asked for, decided by the operator, and audited."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.orm import Session

from companies import add_company
from kiban.core import migrations
from kiban.core.audit import AuditEvent
from kiban.core.database import create_database_engine
from kiban.core.errors import NotFound
from kiban.core.identifiers import corporate_number_check_digit
from kiban.mesh.identifiers import MemberId, ServiceId, SubsystemId
from kiban.mesh.registry.models import MeshAccessRight, MeshService, RegistrationStatus
from kiban.mesh.registry.service import RegistrationRefused, RegistryService
from mesh.openapi_support import RESIDENT_CERTIFICATE

CHIYODA = MemberId.parse("JP/LG/131016")
JUKI = SubsystemId.of(CHIYODA, "juki")
AGENCY = MemberId.of("GOV", corporate_number_check_digit("000012010023") + "000012010023")


def _company(session: Session, *, closed_on: date | None = None) -> MemberId:
    number = add_company(
        session, "000098765432", "株式会社メッシュテスト", "メッシュテスト", closed_on=closed_on
    )
    return MemberId.of("COM", number)


@pytest.fixture
def registry(db_session: Session) -> RegistryService:
    return RegistryService(db_session)


def test_a_municipality_joins_on_approval_under_its_registry_name(
    registry: RegistryService, db_session: Session
) -> None:
    requested = registry.request_member(CHIYODA, requested_by="131016:suzuki")
    assert (requested.name, requested.status) == ("千代田区", RegistrationStatus.PENDING)
    assert registry.members(RegistrationStatus.APPROVED) == []
    approved = registry.approve_member(CHIYODA, operator="operator")
    assert approved.status == RegistrationStatus.APPROVED
    assert approved.decided_by == "operator"
    assert [member.name for member in registry.members(RegistrationStatus.APPROVED)] == ["千代田区"]
    actions = db_session.scalars(
        select(AuditEvent.action).where(AuditEvent.subject == "mesh:JP/LG/131016")
    ).all()
    assert actions == ["mesh.member.request", "mesh.member.approve"]


def test_a_subsystem_is_approved_only_after_its_member(registry: RegistryService) -> None:
    with pytest.raises(RegistrationRefused, match="request the member first"):
        registry.request_subsystem(JUKI, requested_by="operator")
    registry.request_member(CHIYODA, requested_by="operator")
    registry.request_subsystem(JUKI, requested_by="operator")
    with pytest.raises(RegistrationRefused, match="approve the member first"):
        registry.approve_subsystem(JUKI, operator="operator")
    registry.approve_member(CHIYODA, operator="operator")
    assert registry.approve_subsystem(JUKI, operator="operator").status == "approved"
    assert [row.subsystem_code for row in registry.subsystems(CHIYODA)] == ["juki"]


def test_a_rejection_keeps_its_reason_and_may_be_asked_again(registry: RegistryService) -> None:
    registry.request_member(AGENCY, requested_by="operator", name="デジタル庁")
    with pytest.raises(RegistrationRefused, match="needs its reason"):
        registry.reject_member(AGENCY, operator="operator", reason="   ")
    rejected = registry.reject_member(AGENCY, operator="operator", reason="名称が登記と異なる")
    assert (rejected.status, rejected.decision_reason) == ("rejected", "名称が登記と異なる")
    with pytest.raises(RegistrationRefused, match="rejected, not waiting"):
        registry.approve_member(AGENCY, operator="operator")
    again = registry.request_member(AGENCY, requested_by="operator", name="デジタル庁")
    assert (again.status, again.decision_reason, again.decided_at) == ("pending", None, None)


def test_a_request_is_made_once(registry: RegistryService) -> None:
    registry.request_member(CHIYODA, requested_by="operator")
    with pytest.raises(RegistrationRefused, match="already waiting"):
        registry.request_member(CHIYODA, requested_by="operator")
    registry.approve_member(CHIYODA, operator="operator")
    with pytest.raises(RegistrationRefused, match="already registered"):
        registry.request_member(CHIYODA, requested_by="operator")


def test_a_member_must_be_the_organisation_its_code_names(
    registry: RegistryService, db_session: Session
) -> None:
    with pytest.raises(NotFound, match="No local government has the code 131008"):
        registry.request_member(MemberId.of("LG", "131008"), requested_by="operator")
    with pytest.raises(NotFound, match="No corporation"):
        registry.request_member(MemberId.of("COM", AGENCY.code), requested_by="operator")
    with pytest.raises(RegistrationRefused, match="needs its name"):
        registry.request_member(AGENCY, requested_by="operator")
    company = _company(db_session)
    assert (
        registry.request_member(company, requested_by="operator").name == "株式会社メッシュテスト"
    )


def test_a_closed_company_cannot_join(registry: RegistryService, db_session: Session) -> None:
    company = _company(db_session, closed_on=date(2025, 3, 31))
    with pytest.raises(RegistrationRefused, match="closed its registration on 2025-03-31"):
        registry.request_member(company, requested_by="operator")


def _approved_juki(registry: RegistryService) -> None:
    registry.request_member(CHIYODA, requested_by="operator")
    registry.approve_member(CHIYODA, operator="operator")
    registry.request_subsystem(JUKI, requested_by="operator")
    registry.approve_subsystem(JUKI, operator="operator")


CERTIFICATE = ServiceId.of(JUKI, "resident-certificate", "v1")


def _publish(
    registry: RegistryService, *, title: str = "住民票情報", openapi: str = RESIDENT_CERTIFICATE
) -> MeshService:
    return registry.publish_service(
        CERTIFICATE, title=title, openapi=openapi, personal_data=True, published_by="operator"
    )


def test_an_approved_subsystem_publishes_a_service_and_may_describe_it_anew(
    registry: RegistryService, db_session: Session
) -> None:
    with pytest.raises(RegistrationRefused, match="not an approved subsystem"):
        _publish(registry)
    _approved_juki(registry)
    published = _publish(registry)
    assert published.personal_data
    assert json.loads(registry.service(CERTIFICATE).openapi)["openapi"] == "3.1.0"
    renamed = _publish(registry, title="住民票の写しの情報")
    assert [service.title for service in registry.services(JUKI)] == [renamed.title]
    with pytest.raises(NotFound, match="is not published"):
        registry.service(ServiceId.of(JUKI, "resident-certificate"))
    published_events = db_session.scalars(
        select(AuditEvent.action).where(AuditEvent.subject == f"mesh:{CERTIFICATE}")
    ).all()
    assert published_events == ["mesh.service.publish", "mesh.service.publish"]


@pytest.mark.parametrize(
    ("title", "openapi", "reason"),
    [
        ("住民票情報", '{"openapi": "3.1.0"}', "the OpenAPI document: #: 'info'"),
        ("  ", RESIDENT_CERTIFICATE, "needs a title"),
    ],
)
def test_a_service_is_published_only_with_a_title_and_a_valid_document(
    registry: RegistryService, title: str, openapi: str, reason: str
) -> None:
    _approved_juki(registry)
    with pytest.raises(RegistrationRefused, match=re.escape(reason)):
        _publish(registry, title=title, openapi=openapi)
    assert registry.services() == []


def _gateway_events(session: Session) -> list[tuple[str, object]]:
    rows = session.execute(
        select(AuditEvent.action, AuditEvent.details)
        .where(
            AuditEvent.subject == f"mesh:{CHIYODA}", AuditEvent.action.startswith("mesh.gateway.")
        )
        .order_by(AuditEvent.id)
    ).all()
    return [(action, (details or {}).get("address")) for action, details in rows]


def test_an_approved_member_registers_its_gateways_addresses(
    registry: RegistryService, db_session: Session
) -> None:
    registry.request_member(CHIYODA, requested_by="operator")
    with pytest.raises(RegistrationRefused, match="not an approved member"):
        registry.add_gateway(CHIYODA, "https://127.0.0.1:5501", actor="operator")
    registry.approve_member(CHIYODA, operator="operator")
    added = registry.add_gateway(CHIYODA, " HTTPS://GW.Chiyoda.example.jp:5501 ", actor="operator")
    assert added.address == "https://gw.chiyoda.example.jp:5501"  # written one way
    registry.add_gateway(CHIYODA, "https://[0:0:0:0:0:0:0:1]:5501", actor="operator")
    with pytest.raises(RegistrationRefused, match=re.escape("https://[::1]:5501 is a gateway")):
        registry.add_gateway(CHIYODA, "https://[::1]:5501", actor="operator")
    assert {row.address for row in registry.gateways(CHIYODA)} == {
        "https://[::1]:5501",
        "https://gw.chiyoda.example.jp:5501",
    }
    registry.remove_gateway(CHIYODA, "https://[::1]:5501", actor="operator")
    with pytest.raises(NotFound, match=re.escape("https://[::1]:5501 is not a gateway of")):
        registry.remove_gateway(CHIYODA, "https://[::1]:5501", actor="operator")
    assert [row.address for row in registry.gateways()] == ["https://gw.chiyoda.example.jp:5501"]
    assert _gateway_events(db_session) == [
        ("mesh.gateway.add", "https://gw.chiyoda.example.jp:5501"),
        ("mesh.gateway.add", "https://[::1]:5501"),
        ("mesh.gateway.remove", "https://[::1]:5501"),
    ]


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("http://127.0.0.1:5501", "https://HOST:PORT"),
        ("127.0.0.1:5501", "https://HOST:PORT"),
        ("https://127.0.0.1", "the port is required"),
        ("https://[::1]", "the port is required"),
        ("https://127.0.0.1:0", "a number from 1 to 65535"),
        ("https://127.0.0.1:70000", "a number from 1 to 65535"),
        ("https://127.0.0.1:5501/r1", "no path, query or user name"),
        ("https://127.0.0.1:5501?x=1", "no path, query or user name"),
        ("https://admin@127.0.0.1:5501", "no path, query or user name"),
        ("https://::1:5501", "written in brackets"),
        ("https://[::g]:5501", "is not an IPv6 address"),
        ("https://[fe80::1%eth0]:5501", "with a zone"),
        ("https://127.0.0.256:5501", "is not an IPv4 address"),
        ("https://gw_1.example.jp:5501", "is not a host name"),
        ("https://gw.example.123:5501", "is not a host name"),
        ("https://千代田.example.jp:5501", "xn-- form"),
        ("https://" + "a" * 300 + ":1", "at most 300 characters"),
    ],
)
def test_a_gateway_address_is_https_host_and_port_and_nothing_else(
    registry: RegistryService, address: str, reason: str
) -> None:
    registry.request_member(CHIYODA, requested_by="operator")
    registry.approve_member(CHIYODA, operator="operator")
    with pytest.raises(RegistrationRefused, match=re.escape(reason)) as refused:
        registry.add_gateway(CHIYODA, address, actor="operator")
    assert "\n" not in str(refused.value)
    assert registry.gateways() == []


def _downgrade(engine: Engine, revision: str) -> None:
    config = migrations.alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


_RIGHT_BEFORE_PURPOSES = [
    "INSERT INTO mesh_members VALUES ('LG', '131016', '千代田区', 'approved', :now, 'operator',"
    " :now, 'operator', NULL)",
    "INSERT INTO mesh_subsystems VALUES ('LG', '131016', 'juki', 'approved', :now, 'operator',"
    " :now, 'operator', NULL)",
    "INSERT INTO mesh_services VALUES ('LG', '131016', 'juki', 'towns', '', '町字', :false,"
    " '{}', :now, 'operator')",
    "INSERT INTO mesh_access_rights VALUES ('LG', '131016', 'juki', 'towns', '', '*', '*',"
    " 'subsystem', 'JP/LG/131016/juki', :now, 'operator')",
]


def test_the_gateways_and_purposes_migration_keeps_rights_and_goes_back(
    empty_database: str,
) -> None:
    engine = create_database_engine(empty_database)
    try:
        migrations.upgrade(engine, "0013")
        with engine.begin() as connection:
            for statement in _RIGHT_BEFORE_PURPOSES:
                connection.execute(text(statement), {"now": datetime.now(UTC), "false": False})
        migrations.upgrade(engine, "0014")
        with Session(engine) as session:
            assert session.scalars(select(MeshAccessRight.purposes)).all() == [""]
            RegistryService(session).add_gateway(
                CHIYODA, "https://127.0.0.1:5501", actor="operator"
            )
            session.commit()
        _downgrade(engine, "0013")
        schema = inspect(engine)
        assert "mesh_gateways" not in schema.get_table_names()
        assert "purposes" not in {
            column["name"] for column in schema.get_columns("mesh_access_rights")
        }
        assert [check["name"] for check in schema.get_check_constraints("mesh_access_rights")] == [
            "ck_mesh_access_rights_granted_to"
        ]
        assert [key["name"] for key in schema.get_foreign_keys("mesh_access_rights")] == [
            "fk_mesh_access_rights_service"
        ]
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT count(*) FROM mesh_access_rights")) == 1
        migrations.upgrade(engine)
        assert migrations.current_revision(engine) is not None
    finally:
        engine.dispose()
