"""PostgreSQL row-level security: a transaction bound to a tenant sees and writes only its rows.

The suite connects as a superuser, which always bypasses row-level security, so these tests
act as an ordinary role created inside the test's transaction and rolled back with it.
"""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from fastapi.security import HTTPAuthorizationCredentials
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from kiban.core.errors import Forbidden
from kiban.core.tenancy import bind_tenant, tenant_access
from kiban.residents.codes import Relationship, ResidentStatus, Sex
from kiban.residents.models import Household, Resident
from kiban.tenants.service import TenantService

CHIYODA = "131016"
HACHIOJI = "132012"
# Both tenants number their first household and resident alike, as independent offices do.
HOUSEHOLD_NUMBER = "0000000001"
ADDRESSEE_NUMBER = "0000000001"


@pytest.fixture
def postgresql_session(engine: Engine, db_session: Session) -> Session:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no row-level security; only the application's checks apply")
    return db_session


def _household(tenant_code: str, household_number: str = HOUSEHOLD_NUMBER) -> Household:
    return Household(
        tenant_code=tenant_code, household_number=household_number, formed_on=date(2024, 4, 1)
    )


def _resident(tenant_code: str) -> Resident:
    return Resident(
        tenant_code=tenant_code,
        addressee_number=ADDRESSEE_NUMBER,
        resident_record_code="00000000019",
        personal_number_hash=tenant_code.ljust(64, "0"),
        family_name="山田",
        given_name="花子",
        family_name_kana="ヤマダ",
        given_name_kana="ハナコ",
        birth_date=date(1980, 5, 1),
        sex=Sex.FEMALE.value,
        household_number=HOUSEHOLD_NUMBER,
        relationship=Relationship.HEAD.value,
        lg_code=tenant_code,
        town_name="一丁目",
        banchi="1",
        katagaki=None,
        became_resident_on=date(2024, 4, 1),
        address_set_on=date(2024, 4, 1),
        notified_on=date(2024, 4, 1),
        status=ResidentStatus.RESIDENT.value,
        removed_on=None,
    )


@pytest.fixture
def two_tenants(postgresql_session: Session) -> Session:
    """千代田区 and 八王子市 with a resident each, the session acting as an ordinary role."""
    session = postgresql_session
    service = TenantService(session)
    for code in (CHIYODA, HACHIOJI):
        service.enable(code)
        session.add_all([_household(code), _resident(code)])
    session.flush()
    session.expunge_all()  # so that every read below goes to the database
    role = f"kiban_rls_test_{uuid.uuid4().hex[:12]}"
    session.execute(text(f'CREATE ROLE "{role}" NOLOGIN'))
    session.execute(text(f'GRANT USAGE ON SCHEMA public TO "{role}"'))
    session.execute(
        text(f'GRANT SELECT, INSERT ON households, residents, tenant_api_keys TO "{role}"')
    )
    session.execute(text(f'SET LOCAL ROLE "{role}"'))
    return session


def _count(session: Session, table: str) -> int:
    return int(session.scalar(text(f"SELECT count(*) FROM {table}")) or 0)


def _bound_tenant(session: Session) -> str | None:
    bound: str | None = session.scalar(text("SELECT current_setting('kiban.tenant_code', true)"))
    return bound or None


def test_an_unbound_transaction_sees_every_tenant(two_tenants: Session) -> None:
    assert _count(two_tenants, "residents") == 2
    assert _count(two_tenants, "households") == 2


def test_a_bound_transaction_counts_only_its_tenants_rows(two_tenants: Session) -> None:
    bind_tenant(two_tenants, CHIYODA)
    assert _count(two_tenants, "residents") == 1
    assert _count(two_tenants, "households") == 1
    assert _count(two_tenants, "tenant_api_keys") == 0
    assert set(two_tenants.scalars(select(Resident.tenant_code))) == {CHIYODA}


def test_another_tenants_row_is_not_found_by_primary_key(two_tenants: Session) -> None:
    bind_tenant(two_tenants, CHIYODA)
    assert two_tenants.get(Resident, (HACHIOJI, ADDRESSEE_NUMBER)) is None
    assert two_tenants.get(Resident, (CHIYODA, ADDRESSEE_NUMBER)) is not None


def test_writing_another_tenants_row_is_refused_and_nothing_is_written(
    two_tenants: Session,
) -> None:
    savepoint = two_tenants.begin_nested()
    bind_tenant(two_tenants, CHIYODA)
    two_tenants.add(_household(CHIYODA, "0000000002"))
    two_tenants.flush()
    two_tenants.add(_household(HACHIOJI, "0000000002"))
    with pytest.raises(DBAPIError, match="row-level security policy"):
        two_tenants.flush()
    savepoint.rollback()
    # The savepoint took the binding and the tenant's own new household with it.
    assert _bound_tenant(two_tenants) is None
    assert _count(two_tenants, "households") == 2


def _credentials(token: str) -> HTTPAuthorizationCredentials:
    return HTTPAuthorizationCredentials(scheme="Bearer", credentials=token)


def test_an_authorised_key_binds_the_request_to_its_tenant(postgresql_session: Session) -> None:
    service = TenantService(postgresql_session)
    service.enable(CHIYODA)
    token = service.create_key(CHIYODA, "tests").token
    caller = tenant_access(CHIYODA, _credentials(token), None, postgresql_session)
    assert caller.tenant_code == CHIYODA
    assert _bound_tenant(postgresql_session) == CHIYODA


def test_a_key_of_another_tenant_binds_nothing(postgresql_session: Session) -> None:
    service = TenantService(postgresql_session)
    service.enable(HACHIOJI)
    token = service.create_key(HACHIOJI, "tests").token
    with pytest.raises(Forbidden):
        tenant_access(CHIYODA, _credentials(token), None, postgresql_session)
    assert _bound_tenant(postgresql_session) is None
