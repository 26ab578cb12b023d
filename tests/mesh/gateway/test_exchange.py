"""Exchanges through real gateway processes on loopback: the registry, a ministry's, a
prefecture's and two municipalities' gateways, each a process of its own.

札幌市's tax system calls 千代田区's resident certificate service through both gateways, and
every way such a call must be refused is refused, by the gateway that must refuse it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from http.cookies import SimpleCookie

import httpx2
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kiban.core.database import create_database_engine
from kiban.core.identifiers import addressee_number_check_digit
from kiban.core.network import tcp_listener
from kiban.core.sessions import SESSION_COOKIE, SubjectKind, start_session
from kiban.identity.ca.models import RevocationReason
from kiban.identity.ca.service import CertificateRegister
from kiban.identity.card.service import CARD_ACR, CARD_AMR
from kiban.mesh.configuration import LIFETIME, publish
from kiban.mesh.consent.models import ConsentKind
from kiban.mesh.consent.request import ConsentRequest
from kiban.mesh.consent.service import ConsentService
from kiban.mesh.gateway.config import load_gateway
from kiban.mesh.gateway.log_records import LogRecord
from kiban.mesh.gateway.protocol import (
    digest,
)
from kiban.mesh.gateway.server import client_tls, server_tls
from kiban.mesh.identifiers import MemberId
from kiban.mesh.registry.service import RegistryService
from kiban.mesh.tracker.models import MeshDataUse
from kiban_command import run_kiban_in_process
from live_server import serving
from mesh.gateway.mesh_world import (
    CERTIFICATE,
    CHIYODA,
    FOR_TAX,
    JUKI,
    MINISTRY,
    OPERATOR,
    PREFECTURE,
    PREFECTURE_WELFARE,
    PROVIDER_TOKEN,
    RESIDENT,
    SAPPORO,
    SAPPORO_LIBRARY,
    SAPPORO_TAX,
    TARGET,
    MeshWorld,
    an_exchange,
    mesh_world,
    problem_type,
    signed_request,
    to_provider,
)

HOUSEHOLD = f"{CERTIFICATE}/residents/{RESIDENT}/household"
OTHER_RESIDENT = "000000013" + addressee_number_check_digit("000000013")


@pytest.fixture(scope="module")
def world(private_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MeshWorld]:
    with mesh_world(private_engine, tmp_path_factory.mktemp("mesh")) as running:
        yield running


def test_an_allowed_call_reaches_the_provider_system_and_comes_back_bound_to_it(
    world: MeshWorld,
) -> None:
    sapporo = world.gateway(SAPPORO)
    message_id = str(uuid.uuid4())
    response = sapporo.call(
        "GET", TARGET, headers={**FOR_TAX, "Kiban-Id": message_id, "Kiban-UserId": "tax-001"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["addressee_number"] == RESIDENT
    assert response.headers["Kiban-Id"] == message_id
    assert response.headers["Kiban-Request-Hash"]
    # What only the provider's gateway may see stays there.
    assert "Kiban-Data-Subject" not in response.headers
    assert "Kiban-Signature" not in response.headers
    seen = world.provider.seen[-1]
    assert seen["kiban-client"] == str(SAPPORO_TAX)
    assert seen["kiban-id"] == message_id
    assert seen["kiban-purpose"] == "tax-assessment"
    assert seen["kiban-userid"] == "tax-001"
    assert "kiban-signature" not in seen
    assert seen["authorization"] == f"Bearer {PROVIDER_TOKEN}"


def test_a_call_without_a_message_id_gets_one(world: MeshWorld) -> None:
    response = world.gateway(SAPPORO).call("GET", TARGET, headers=FOR_TAX)
    assert response.status_code == 200
    assert uuid.UUID(response.headers["Kiban-Id"])


def test_a_right_to_the_whole_service_covers_every_operation(world: MeshWorld) -> None:
    response = world.gateway(PREFECTURE).call(
        "GET",
        HOUSEHOLD,
        client=PREFECTURE_WELFARE,
        headers={"Kiban-Purpose": "public-assistance", "Kiban-Legal-Basis": "seikatsu-hogo"},
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"members": 3}


@pytest.mark.parametrize(
    ("client", "target", "headers", "status", "problem"),
    [
        (SAPPORO_LIBRARY, TARGET, FOR_TAX, 403, "access-denied"),
        (
            SAPPORO_TAX,
            f"{CERTIFICATE}/residents/{RESIDENT}/household",
            FOR_TAX,
            403,
            "access-denied",
        ),
        (
            SAPPORO_TAX,
            TARGET,
            {**FOR_TAX, "Kiban-Purpose": "marketing"},
            403,
            "purpose-not-allowed",
        ),
        (SAPPORO_TAX, TARGET, {"Kiban-Legal-Basis": "x"}, 400, "purpose-required"),
        (SAPPORO_TAX, TARGET, {"Kiban-Purpose": "tax-assessment"}, 400, "legal-basis-required"),
        (
            SAPPORO_TAX,
            TARGET,
            {"Kiban-Purpose": "tax-assessment", "Kiban-Legal-Basis": "consent"},
            403,
            "consent-required",
        ),
    ],
    ids=[
        "no-right",
        "operation-not-granted",
        "wrong-purpose",
        "no-purpose",
        "no-legal-basis",
        "consent-basis-without-consent",
    ],
)
def test_the_provider_gateway_refuses_what_the_rights_do_not_allow(
    world: MeshWorld,
    client: object,
    target: str,
    headers: dict[str, str],
    status: int,
    problem: str,
) -> None:
    calls = len(world.provider.seen)
    response = world.gateway(SAPPORO).call("GET", target, client=client, headers=headers)  # type: ignore[arg-type]
    assert (response.status_code, problem_type(response)) == (status, problem), response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert len(world.provider.seen) == calls, "a refused call must not reach the provider system"


@pytest.mark.parametrize(
    ("client", "target", "headers", "status", "problem"),
    [
        (None, TARGET, {}, 400, "bad-request"),
        (JUKI, TARGET, FOR_TAX, 403, "not-our-client"),
        (SAPPORO_TAX, TARGET, {"Kiban-Id": "not-a-uuid"}, 400, "bad-request"),
        (SAPPORO_TAX, "JP/LG/131016/juki/nothing/x", {}, 404, "unknown-service"),
        (SAPPORO_TAX, "JP/LG/131017/juki/x", {}, 400, "bad-request"),
    ],
    ids=["no-client", "other-members-client", "bad-message-id", "unknown-service", "bad-id"],
)
def test_the_consumer_gateway_refuses_a_malformed_call_itself(
    world: MeshWorld,
    client: object,
    target: str,
    headers: dict[str, str],
    status: int,
    problem: str,
) -> None:
    response = world.gateway(SAPPORO).call("GET", target, client=client, headers=headers)  # type: ignore[arg-type]
    assert (response.status_code, problem_type(response)) == (status, problem), response.text


def test_a_replayed_request_is_refused(world: MeshWorld) -> None:
    _, headers = signed_request(world.gateway(SAPPORO).directory, an_exchange())
    first = to_provider(world, headers)
    assert first.status_code == 200, first.text
    again = to_provider(world, headers)
    assert (again.status_code, problem_type(again)) == (409, "replayed-request")


def test_an_old_request_is_refused(world: MeshWorld) -> None:
    _, headers = signed_request(
        world.gateway(SAPPORO).directory, an_exchange(iat=int(time.time()) - 3600)
    )
    response = to_provider(world, headers)
    assert (response.status_code, problem_type(response)) == (401, "stale-request")


def test_a_forged_signature_is_refused(world: MeshWorld) -> None:
    # Signed by 千代田区's own key, but in 札幌市's name: the signer's member is not the client's.
    _, headers = signed_request(world.gateway(CHIYODA).directory, an_exchange())
    response = to_provider(world, headers)
    assert (response.status_code, problem_type(response)) == (401, "invalid-signature")
    # A signature whose bytes were changed.
    _, headers = signed_request(world.gateway(SAPPORO).directory, an_exchange())
    body, _, signature = headers["Kiban-Signature"].rpartition(".")
    headers["Kiban-Signature"] = f"{body}.{signature[::-1]}"
    response = to_provider(world, headers)
    assert (response.status_code, problem_type(response)) == (401, "invalid-signature")


def test_a_request_that_differs_from_what_was_signed_is_refused(world: MeshWorld) -> None:
    _, headers = signed_request(world.gateway(SAPPORO).directory, an_exchange())
    response = to_provider(world, headers, path="/residents/000000099/certificate")
    assert (response.status_code, problem_type(response)) == (401, "invalid-signature")
    _, headers = signed_request(world.gateway(SAPPORO).directory, an_exchange())
    headers["Kiban-Purpose"] = "public-assistance"
    response = to_provider(world, headers)
    assert (response.status_code, problem_type(response)) == (401, "invalid-signature")


def test_refusals_from_the_provider_are_signed_for_the_consumer(world: MeshWorld) -> None:
    signature, headers = signed_request(
        world.gateway(SAPPORO).directory, an_exchange(purpose="marketing")
    )
    response = to_provider(world, headers)
    assert response.status_code == 403
    assert response.headers["Kiban-Signature"]
    assert response.headers["Kiban-Request-Hash"] == digest(signature.encode("ascii"))


def test_health_says_what_holds(world: MeshWorld) -> None:
    report = world.gateway(SAPPORO).health().json()
    assert report["status"] == "ok"
    assert report["checks"]["configuration"]["ok"] is True
    assert report["checks"]["certificate"]["ok"] is True


# Trust: certificates, configuration and answers ---------------------------------------------


def _eventually(check: Callable[[], bool], what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(0.2)


def _refused_as(response: httpx2.Response, problem: str) -> bool:
    return response.status_code >= 400 and problem_type(response) == problem


def test_a_revoked_gateway_certificate_stops_counting(world: MeshWorld) -> None:
    second = world.another_gateway(SAPPORO)
    second.wait_until(lambda: second.health().status_code == 200, "a configuration")
    _eventually(
        lambda: second.call("GET", TARGET, headers=FOR_TAX).status_code == 200,
        "千代田区's gateway knows the new gateway's certificate",
    )
    with Session(world.engine) as session:
        CertificateRegister(session).revoke(
            load_gateway(second.directory).keys.serial,
            RevocationReason.KEY_COMPROMISE,
            actor=OPERATOR,
        )
        session.commit()
    _eventually(
        lambda: _refused_as(second.call("GET", TARGET, headers=FOR_TAX), "unknown-certificate"),
        "千代田区's gateway refuses the revoked certificate's signatures",
    )
    _eventually(lambda: second.health().status_code == 503, "its health check says it is revoked")
    assert second.health().json()["checks"]["certificate"]["ok"] is False
    # The member's other gateway is not affected.
    assert world.gateway(SAPPORO).call("GET", TARGET, headers=FOR_TAX).status_code == 200


class ConfigurationRelay:
    """Stands where a gateway expects the registry, and serves what the test decides."""

    def __init__(self, registry_url: str) -> None:
        self.token: str | None = None
        self.revocations = httpx2.get(f"{registry_url}/ca/crl", timeout=10).content
        self.listener = tcp_listener("127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"

    def app(self) -> Starlette:
        async def configuration(request: Request) -> Response:
            if self.token is None:
                return Response("registry down", 503)
            return Response(self.token, media_type="application/jose")

        async def revocations(request: Request) -> Response:
            return Response(self.revocations, media_type="application/pkix-crl")

        return Starlette(
            routes=[
                Route("/mesh/configuration", configuration),
                Route("/ca/crl", revocations),
            ]
        )


def _published(world: MeshWorld, lifetime: timedelta = LIFETIME) -> str:
    with Session(world.engine) as session:
        token = publish(session, world.settings, lifetime=lifetime)
        session.commit()
    return token


def test_a_gateway_fails_closed_once_its_configuration_expires(world: MeshWorld) -> None:
    relay = ConfigurationRelay(world.registry_url)
    with serving(relay.app(), relay.listener):
        gateway = world.another_gateway(SAPPORO, registry_url=relay.url, start=False)
        # A configuration that lives eight seconds, then none: the registry is down.
        relay.token = _published(world, lifetime=timedelta(seconds=8))
        gateway.start()
        gateway.wait_until(lambda: gateway.health().status_code == 200, "a configuration")
        _eventually(
            lambda: gateway.call("GET", TARGET, headers=FOR_TAX).status_code == 200,
            "千代田区's gateway knows the new gateway's certificate",
        )
        relay.token = None
        _eventually(
            lambda: _refused_as(
                gateway.call("GET", TARGET, headers=FOR_TAX), "configuration-unavailable"
            ),
            "the gateway refuses once the configuration has expired",
        )
        refused = gateway.call("GET", TARGET, headers=FOR_TAX)
        assert refused.status_code == 503
        assert "expired" in refused.json()["detail"]
        assert gateway.health().json()["checks"]["configuration"]["ok"] is False
        # A forged configuration is not taken up either.
        head, payload, signature = _published(world).split(".")
        relay.token = f"{head}.{payload[:-4]}AAAA.{signature}"
        time.sleep(2.5)
        assert _refused_as(
            gateway.call("GET", TARGET, headers=FOR_TAX), "configuration-unavailable"
        )
        assert "signature" in gateway.health().json()["checks"]["configuration"]["detail"]
        # The registry is back: so is the gateway.
        relay.token = _published(world)
        _eventually(
            lambda: gateway.call("GET", TARGET, headers=FOR_TAX).status_code == 200,
            "the gateway takes up its work again",
        )
        gateway.stop()


def test_a_response_changed_on_the_way_is_refused_by_the_consumer_gateway(
    world: MeshWorld,
) -> None:
    """An insider holding a valid mesh certificate (the ministry's) diverts 千代田区's address
    to itself and changes the answer: TLS does not stop it, the provider's signature does."""
    ministry = load_gateway(world.gateway(MINISTRY).directory)
    chiyoda = world.gateway(CHIYODA)
    upstream = httpx2.AsyncClient(verify=client_tls(ministry), timeout=10)

    async def relay(request: Request) -> Response:
        answer = await upstream.request(
            request.method,
            f"{chiyoda.mesh_address}{request.url.path}",
            headers={k: v for k, v in request.headers.items() if k.startswith("kiban-")},
            content=await request.body(),
        )
        return Response(
            answer.content.replace("山田".encode(), "田中".encode()),
            answer.status_code,
            headers={
                k: v
                for k, v in answer.headers.items()
                if k.startswith("kiban-") or k == "content-type"
            },
        )

    listener = tcp_listener("127.0.0.1", 0)
    diverted = f"https://127.0.0.1:{listener.getsockname()[1]}"
    tls = server_tls(ministry)
    with serving(
        Starlette(routes=[Route("/r1/{rest:path}", relay)]),
        listener,
        ssl_context_factory=lambda _config, _default: tls,
    ):
        _point(world, CHIYODA, chiyoda.mesh_address, diverted)
        try:
            _eventually(
                lambda: _refused_as(
                    world.gateway(SAPPORO).call("GET", TARGET, headers=FOR_TAX),
                    "tampered-response",
                ),
                "札幌市's gateway refuses the changed answer",
            )
            refused = world.gateway(SAPPORO).call("GET", TARGET, headers=FOR_TAX)
            assert refused.status_code == 502
            assert "田中" not in refused.text
        finally:
            _point(world, CHIYODA, diverted, chiyoda.mesh_address)
    _eventually(
        lambda: world.gateway(SAPPORO).call("GET", TARGET, headers=FOR_TAX).status_code == 200,
        "calls go to 千代田区's own gateway again",
    )


def _point(world: MeshWorld, member: MemberId, old: str, new: str) -> None:
    """Register ``new`` as the member's gateway address instead of ``old``."""
    with Session(world.engine) as session:
        registry = RegistryService(session)
        registry.add_gateway(member, new, actor=OPERATOR)
        registry.remove_gateway(member, old, actor=OPERATOR)
        session.commit()


def test_a_gateway_in_maintenance_refuses_new_exchanges_and_says_why(world: MeshWorld) -> None:
    chiyoda = world.gateway(CHIYODA)
    directory = str(chiyoda.directory)
    started = run_kiban_in_process(
        "gateway",
        "maintenance",
        "--member",
        str(CHIYODA),
        "--dir",
        directory,
        "--reason",
        "証明書の更新 / renewing certificates",
    )
    assert started.returncode == 0, started.stderr
    try:
        _eventually(
            lambda: _refused_as(
                world.gateway(SAPPORO).call("GET", TARGET, headers=FOR_TAX), "maintenance"
            ),
            "the provider's gateway refuses while in maintenance",
        )
        refused = world.gateway(SAPPORO).call("GET", TARGET, headers=FOR_TAX)
        assert refused.status_code == 503
        assert "renewing certificates" in refused.json()["detail"]
        health = chiyoda.health()
        assert health.status_code == 503
        assert health.json()["checks"]["maintenance"]["ok"] is False
    finally:
        ended = run_kiban_in_process(
            "gateway", "maintenance", "--member", str(CHIYODA), "--dir", directory, "--off"
        )
        assert ended.returncode == 0
    _eventually(
        lambda: world.gateway(SAPPORO).call("GET", TARGET, headers=FOR_TAX).status_code == 200,
        "the gateway works again once maintenance ends",
    )
    assert chiyoda.health().status_code == 200


def test_the_provider_gateway_logs_whom_an_answer_was_about_and_the_consumer_never_sees_it(
    world: MeshWorld,
) -> None:
    answered = world.gateway(SAPPORO).call("GET", TARGET, headers=FOR_TAX)
    refused = world.gateway(SAPPORO).call(
        "GET", TARGET, headers={**FOR_TAX, "Kiban-Purpose": "marketing"}
    )
    assert (answered.status_code, refused.status_code) == (200, 403)
    assert "Kiban-Data-Subject" not in answered.headers
    engine = create_database_engine(load_gateway(world.gateway(CHIYODA).directory).database_url)
    consumer_engine = create_database_engine(
        load_gateway(world.gateway(SAPPORO).directory).database_url
    )
    try:
        subjects = _subjects(engine, "provider")
        assert subjects[answered.headers["Kiban-Id"]] == RESIDENT
        assert subjects[refused.headers["Kiban-Id"]] is None
        assert _subjects(consumer_engine, "consumer")[answered.headers["Kiban-Id"]] is None
    finally:
        engine.dispose()
        consumer_engine.dispose()


def _subjects(engine: Engine, role: str) -> dict[str, str | None]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(LogRecord.message_id, LogRecord.data_subject).where(LogRecord.role == role)
        ).all()
    return {message_id: subject for message_id, subject in rows}


# Metaservices -------------------------------------------------------------------------------


def test_list_clients_names_every_approved_member_and_subsystem(world: MeshWorld) -> None:
    listed = world.gateway(SAPPORO).call("GET", "JP/listClients").json()
    assert {"id": "JP/GOV/6000012010023", "name": "デジタル庁"} in listed["members"]
    assert str(SAPPORO_LIBRARY) in listed["subsystems"]


def test_list_methods_and_allowed_methods_answer_for_the_caller(world: MeshWorld) -> None:
    sapporo = world.gateway(SAPPORO)
    listed = sapporo.call("GET", f"{JUKI}/listMethods").json()
    assert listed == {
        "services": [{"id": str(CERTIFICATE), "title": "住民票情報", "personal_data": True}]
    }
    allowed = sapporo.call("GET", f"{JUKI}/allowedMethods").json()["services"]
    assert allowed[0]["operations"] == [
        {
            "method": "GET",
            "path": "/residents/{addressee_number}/certificate",
            "purposes": ["tax-assessment"],
        }
    ]
    nothing = sapporo.call("GET", f"{JUKI}/allowedMethods", client=SAPPORO_LIBRARY).json()
    assert nothing == {"services": []}


def test_get_openapi_gives_the_document_to_those_with_a_right(world: MeshWorld) -> None:
    sapporo = world.gateway(SAPPORO)
    document = sapporo.call(
        "GET", f"{JUKI}/getOpenAPI", params={"serviceCode": "resident-certificate/v1"}
    )
    assert document.status_code == 200, document.text
    assert "/residents/{addressee_number}/certificate" in document.json()["paths"]
    refused = sapporo.call(
        "GET",
        f"{JUKI}/getOpenAPI",
        client=SAPPORO_LIBRARY,
        params={"serviceCode": "resident-certificate/v1"},
    )
    assert (refused.status_code, problem_type(refused)) == (403, "access-denied")
    unknown = sapporo.call("GET", f"{JUKI}/getOpenAPI", params={"serviceCode": "nothing"})
    assert (unknown.status_code, problem_type(unknown)) == (404, "unknown-service")
    bad = sapporo.call("GET", f"{JUKI}/getOpenAPI", params={"serviceCode": "Bad Code"})
    assert (bad.status_code, problem_type(bad)) == (400, "bad-request")


def test_the_registry_serves_a_published_services_document(world: MeshWorld) -> None:
    base = f"{world.registry_url}/mesh/services"
    assert httpx2.get(f"{base}/{CERTIFICATE}/openapi").json()["openapi"].startswith("3.")
    missing = httpx2.get(f"{base}/JP/LG/131016/juki/nothing/openapi")
    assert (missing.status_code, missing.headers["content-type"]) == (
        404,
        "application/problem+json",
    )
    assert httpx2.get(f"{base}/JP/LG/131017/juki/x/openapi").status_code == 400


# The data tracker ---------------------------------------------------------------------------


def test_the_resident_sees_on_the_portal_who_used_their_data(world: MeshWorld) -> None:
    """札幌市's tax office reads 山田 花子's certificate from 千代田区; 千代田区's gateway hands
    the record to the platform, and 花子 sees it after signing in with her card."""
    answered = world.gateway(SAPPORO).call("GET", TARGET, headers=FOR_TAX)
    assert answered.status_code == 200
    message_id = answered.headers["Kiban-Id"]

    def recorded() -> bool:
        with Session(world.engine) as session:
            return (
                session.scalar(select(MeshDataUse).where(MeshDataUse.message_id == message_id))
                is not None
            )

    try:
        _eventually(recorded, "千代田区's gateway hands the record to the platform", timeout=20)
    except AssertionError:
        print(world.gateway(CHIYODA).health().json())
        raise
    with Session(world.engine) as session:
        response = Response()
        start_session(
            session,
            response,
            kind=SubjectKind.RESIDENT,
            subject_id=f"{CHIYODA.code}:{RESIDENT}",
            tenant_code=CHIYODA.code,
            acr=CARD_ACR,
            amr=CARD_AMR,
            settings=world.settings,
        )
        session.commit()
    cookie = SimpleCookie(response.headers["set-cookie"])[SESSION_COOKIE].value
    page = httpx2.get(
        f"{world.registry_url}/me/data-uses",
        headers={"Cookie": f"{SESSION_COOKIE}={cookie}"},
        timeout=10,
    )
    assert page.status_code == 200
    assert "札幌市" in page.text  # who
    assert "tax-assessment" in page.text  # why
    assert "地方税法第294条" in page.text  # on what legal basis
    assert "住民票情報" in page.text  # which service
    assert "山田" not in page.text  # never the data itself


# Consent ------------------------------------------------------------------------------------


def _consent(world: MeshWorld, kind: ConsentKind) -> str:
    """山田 花子 lets 札幌市's tax system read her certificate for the municipal tax."""
    request = ConsentRequest(
        consumer=SAPPORO_TAX,
        service=CERTIFICATE,
        items=("GET /residents/{addressee_number}/certificate",),
        purpose="tax-assessment",
        explanation="住民税の賦課のため / for the municipal tax",
        until=date.today() + timedelta(days=30),
        kind=kind,
    )
    with Session(world.engine) as session:
        consent = ConsentService(session).grant(request, CHIYODA.code, RESIDENT)
        session.commit()
    return consent


def _with_consent(consent: str) -> dict[str, str]:
    return {
        "Kiban-Purpose": "tax-assessment",
        "Kiban-Legal-Basis": "consent",
        "Kiban-Consent": consent,
    }


def test_a_one_time_consent_lets_one_exchange_through(world: MeshWorld) -> None:
    consent = _consent(world, ConsentKind.ONE_TIME)
    sapporo = world.gateway(SAPPORO)
    first = sapporo.call("GET", TARGET, headers=_with_consent(consent))
    assert first.status_code == 200, first.text
    again = sapporo.call("GET", TARGET, headers=_with_consent(consent))
    assert (again.status_code, problem_type(again)) == (403, "consent-required")
    unknown = sapporo.call("GET", TARGET, headers=_with_consent(str(uuid.uuid4())))
    assert (unknown.status_code, problem_type(unknown)) == (403, "consent-required")


def test_a_consent_covers_its_person_only_and_ends_when_revoked(world: MeshWorld) -> None:
    consent = _consent(world, ConsentKind.PERIODIC)
    sapporo = world.gateway(SAPPORO)
    assert sapporo.call("GET", TARGET, headers=_with_consent(consent)).status_code == 200
    assert sapporo.call("GET", TARGET, headers=_with_consent(consent)).status_code == 200
    calls = len(world.provider.seen)
    someone_else = sapporo.call(
        "GET",
        f"{CERTIFICATE}/residents/{OTHER_RESIDENT}/certificate",
        headers=_with_consent(consent),
    )
    assert (someone_else.status_code, problem_type(someone_else)) == (403, "consent-required")
    assert "山田" not in someone_else.text  # the answer is withheld
    assert len(world.provider.seen) == calls + 1
    with Session(world.engine) as session:
        ConsentService(session).revoke(consent, actor=OPERATOR, reason="本人の申出")
        session.commit()
    revoked = sapporo.call("GET", TARGET, headers=_with_consent(consent))
    assert (revoked.status_code, problem_type(revoked)) == (403, "consent-required")
