"""Helpers of the provider tests: residents, their sessions, registered relying parties."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from starlette.responses import Response

from kiban.core.config import Settings
from kiban.core.crypto import PersonalNumberHasher
from kiban.core.sessions import SubjectKind, start_session
from kiban.identity.oidc.clients import ClientInput, ClientService
from kiban.residents.codes import Relationship, Sex
from kiban.residents.models import Resident
from kiban.residents.schemas import AddressIn, HouseholdPlacement, MovingInIn, PersonIn
from kiban.residents.service import ResidentService
from kiban.tenants.service import TenantService

TESTSERVER = "http://testserver"
RP_CALLBACK = "https://rp.example/callback"
RP_LOGGED_OUT = "https://rp.example/logged-out"
# The live provider's data is committed, so it lives in a tenant no other test uses: 那覇市.
LIVE_TENANT = "472018"
ALL_SCOPES = ["name", "address", "birthdate", "gender"]
# One key for every test: the live provider and the CLI commit signing keys encrypted with it.
SECRET_KEY = "oidc tests' secret key"


def oidc_settings(data_dir: Path, database_url: str, public_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=data_dir,
        log_format="console",
        log_level="warning",
        preload_registry=False,
        public_url=public_url,
        secure_cookies=False,  # the tests talk plain HTTP to 127.0.0.1 and testserver
        secret_key=SECRET_KEY,
    )


def move_in(session: Session, tenant_code: str, town: str, **person: str) -> Resident:
    TenantService(session).enable(tenant_code)
    service = ResidentService(
        session, tenant_code, PersonalNumberHasher(b"oidc tests"), today=lambda: date(2025, 6, 30)
    )
    return service.register_moving_in(
        MovingInIn(
            person=PersonIn(
                family_name=person.get("family_name", "山田"),
                given_name="花子",
                family_name_kana="ヤマダ",
                given_name_kana="ハナコ",
                birth_date=date(1980, 5, 1),
                sex=Sex.FEMALE,
            ),
            resident_record_code=person.get("resident_record_code", "00000000019"),
            personal_number=SecretStr(person.get("personal_number", "123456789018")),
            household=HouseholdPlacement(household_number=None, relationship=Relationship.HEAD),
            address=AddressIn(lg_code=tenant_code, town_name=town, banchi="1-3", katagaki=None),
            moved_in_on=date(2024, 4, 1),
            notified_on=date(2024, 4, 1),
        )
    )


def session_cookie(session: Session, settings: Settings, resident: Resident) -> str:
    """A card sign-in session for the resident, started as the card sign-in starts it."""
    response = Response()
    start_session(
        session,
        response,
        kind=SubjectKind.RESIDENT,
        subject_id=f"{resident.tenant_code}:{resident.addressee_number}",
        tenant_code=resident.tenant_code,
        acr="aal3",
        amr=["swk", "pin"],
        settings=settings,
    )
    return response.headers["set-cookie"].split(";")[0].split("=", 1)[1]


def register(
    session: Session,
    *,
    auth_method: str = "client_secret_basic",
    jwks: str | None = None,
    scopes: list[str] | None = None,
    name: str = "デモ市 子育て支援サービス",
    redirect_uri: str = RP_CALLBACK,
) -> tuple[str, str | None]:
    """A registered relying party: its client id and, for client_secret_basic, its secret."""
    created = ClientService(session).create(
        ClientInput(
            name=name,
            purpose="子育て支援の申請書に氏名と住所を記入するため",
            redirect_uris=[redirect_uri],
            auth_method=auth_method,
            post_logout_redirect_uris=[RP_LOGGED_OUT],
            scopes=ALL_SCOPES if scopes is None else scopes,
            jwks=jwks,
        )
    )
    return created.client.client_id, created.secret


@dataclass
class LiveProvider:
    """kiban served by uvicorn, on data that is committed."""

    url: str
    settings: Settings
    engine: Engine
    resident: Resident

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def sign_in(self) -> str:
        with self.session() as session:
            cookie = session_cookie(session, self.settings, self.resident)
            session.commit()
        return cookie

    def register(self, **options: Any) -> tuple[str, str | None]:
        with self.session() as session:
            registered = register(session, **options)
            session.commit()
        return registered


def live_resident(engine: Engine) -> Resident:
    """比嘉花子 of 那覇市, made once per database and committed."""
    with Session(engine, expire_on_commit=False) as session:
        existing = session.scalars(
            select(Resident).where(
                Resident.tenant_code == LIVE_TENANT, Resident.resident_record_code == "00000000027"
            )
        ).first()
        if existing is not None:
            return existing
        resident = move_in(
            session,
            LIVE_TENANT,
            "港町一丁目",
            family_name="比嘉",
            resident_record_code="00000000027",
            personal_number="234567890121",
        )
        session.commit()
        return resident
