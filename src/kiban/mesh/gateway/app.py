"""A gateway's two interfaces: the consumer interface, which the member's own systems call,
and the mesh interface, which other members' gateways call over mutual TLS.

Who may call each (kiban's rule that every route declares its callers):

* the consumer interface (``/r1/…``): systems on the networks in ``allow_from`` (loopback by
  default), naming as ``Kiban-Client`` one of this member's approved subsystems;
* the mesh interface (``/r1/…``): other gateways, admitted by TLS with a certificate under the
  trusted root, and each request authorised on its own: its signature by a certificate the
  current configuration lists for the client's member, and the access rights for its client,
  operation and purpose;
* ``/health`` on the consumer interface: the same networks as ``/r1/``.
"""

from __future__ import annotations

import ipaddress
import json
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from kiban.core.errors import PROBLEM_MEDIA_TYPE
from kiban.mesh.gateway.config import Gateway, ProviderSystem
from kiban.mesh.gateway.consent import ConsentChecker, ConsentHeld, ConsentRefused
from kiban.mesh.gateway.fetcher import ConfigurationHolder, ConfigurationUnavailable, MeshView
from kiban.mesh.gateway.log import DuplicateMessage, LogEntry, LogUnavailable, LogWriter
from kiban.mesh.gateway.metaservices import Metaservices
from kiban.mesh.gateway.problems import problem_body, problem_response
from kiban.mesh.gateway.protocol import (
    CONSENT,
    DATA_SUBJECT,
    FRESHNESS,
    MESSAGE_ID,
    REQUEST_HASH,
    SIGNATURE,
    Answer,
    Exchange,
    ProtocolError,
    Signer,
    Target,
    calling_client,
    consumer_exchange,
    digest,
    forwarded_headers,
    request_hash,
)
from kiban.mesh.gateway.tracker import TrackerForwarder, data_subject
from kiban.mesh.identifiers import MemberId, SubsystemId

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
MAX_BODY = 16 * 1024 * 1024
CONSENT_BASIS = "consent"  # the legal basis under which Kiban-Consent is required
# Headers of a provider's answer that travel back to the consumer.
_ANSWER_HEADERS = ("content-type", "content-language", "cache-control", "etag", "last-modified")


class ReplayGuard:
    """The message identifiers seen in the freshness window, per client: a request whose
    identifier was seen is a replay.  Requests older than the window are refused as stale, so
    nothing older needs remembering."""

    def __init__(self, window: float = 2 * FRESHNESS) -> None:
        self.window = window
        self._seen: set[tuple[str, str]] = set()
        self._expiry: deque[tuple[float, tuple[str, str]]] = deque()

    def claim(self, client: str, message_id: str, now: float) -> bool:
        """Whether the message is new; it is remembered from now on."""
        while self._expiry and self._expiry[0][0] < now:
            self._seen.discard(self._expiry.popleft()[1])
        key = (client, message_id)
        if key in self._seen:
            return False
        self._seen.add(key)
        self._expiry.append((now + self.window, key))
        return True

    def remember(self, received: Iterable[tuple[str, str, float]]) -> None:
        """Messages received before a restart, (client, id, when), oldest first."""
        for client, message_id, when in received:
            key = (client, message_id)
            if key not in self._seen:
                self._seen.add(key)
                self._expiry.append((when + self.window, key))


@dataclass
class GatewayRuntime:
    """What both interfaces share while the gateway runs."""

    gateway: Gateway
    configuration: ConfigurationHolder
    writer: LogWriter
    mesh_client: httpx2.AsyncClient  # to other gateways, mutual TLS
    backend_client: httpx2.AsyncClient  # to our own provider systems
    signer: Signer
    metaservices: Metaservices
    consents: ConsentChecker
    tracker: TrackerForwarder
    sent: ReplayGuard = field(default_factory=ReplayGuard)  # as the consumer's gateway
    received: ReplayGuard = field(default_factory=ReplayGuard)  # as the provider's
    maintenance: str | None = None  # why the gateway refuses new exchanges, when it does

    @property
    def keep_bodies(self) -> bool:
        return self.gateway.settings.keep_bodies


# The consumer interface -------------------------------------------------------------------


def consumer_app(runtime: GatewayRuntime) -> Starlette:
    networks = runtime.gateway.settings.networks()

    def admitted(request: Request) -> bool:
        host = request.client.host if request.client else ""
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in networks)

    async def call(request: Request) -> Response:
        if not admitted(request):
            return problem_response("network-not-allowed", "ask the gateway's operator")
        return await consume(runtime, request)

    async def health(request: Request) -> Response:
        if not admitted(request):
            return problem_response("network-not-allowed", "ask the gateway's operator")
        return health_report(runtime)

    return Starlette(
        routes=[
            Route("/r1/{rest:path}", call, methods=METHODS),
            Route("/health", health, methods=["GET"]),
        ]
    )


async def consume(runtime: GatewayRuntime, request: Request) -> Response:
    started = datetime.now(UTC)
    if runtime.maintenance:
        return problem_response("maintenance", runtime.maintenance)
    try:
        view = runtime.configuration.current()
    except ConfigurationUnavailable as error:
        return problem_response("configuration-unavailable", str(error))
    body = await request.body()
    if len(body) > MAX_BODY:
        return problem_response("payload-too-large", f"at most {MAX_BODY} bytes")
    headers = {name.lower(): value for name, value in request.headers.items()}
    try:
        client = calling_client(headers)
    except ProtocolError as error:
        return problem_response(error.slug, str(error))
    if client.member != runtime.gateway.member:
        return problem_response(
            "not-our-client",
            f"{client} is not a subsystem of {runtime.gateway.member}",
        )
    if not view.policy.is_approved_subsystem(client):
        return problem_response(
            "unknown-client", f"{client} is not an approved subsystem on the mesh"
        )
    if (metaservice := Metaservices.named(request.url.path)) is not None:
        if request.method != "GET":
            return problem_response("bad-request", "metaservices are called with GET")
        return await runtime.metaservices.answer(view, *metaservice, client, request)
    try:
        target = Target.parse(request.url.path, request.url.query)
        exchange = consumer_exchange(headers, target, request.method, body)
    except ProtocolError as error:
        return problem_response(error.slug, str(error))
    provider = target.service.subsystem.member
    if view.policy.service(target.service) is None:
        return problem_response("unknown-service", f"{target.service} is not published")
    if not runtime.sent.claim(exchange.client, exchange.id, time.time()):
        return problem_response(
            "replayed-request", f"{exchange.id} was sent before: each call needs a new Kiban-Id"
        )
    signature = runtime.signer.sign_request(exchange)
    answered = await _send(runtime, view, exchange, target, signature, request, body)
    if isinstance(answered, Response):
        failed = await _log(runtime, exchange, "consumer", answered, started, signature, None, body)
        return failed or answered
    response, answer_signature = answered
    verdict = _verify_answer(view, provider, exchange, signature, response, answer_signature)
    if verdict is not None:
        refused = problem_response("tampered-response", verdict, {MESSAGE_ID: exchange.id})
        failed = await _log(
            runtime, exchange, "consumer", refused, started, signature, answer_signature, body
        )
        return failed or refused
    headers = {name: value for name, value in response.headers.items() if name in _ANSWER_HEADERS}
    headers[MESSAGE_ID] = exchange.id
    headers[REQUEST_HASH] = request_hash(signature)
    answer = Response(response.content, response.status_code, headers=headers)
    failed = await _log(
        runtime, exchange, "consumer", answer, started, signature, answer_signature, body
    )
    return failed or answer


async def _send(
    runtime: GatewayRuntime,
    view: MeshView,
    exchange: Exchange,
    target: Target,
    signature: str,
    request: Request,
    body: bytes,
) -> Response | tuple[httpx2.Response, str]:
    """Send the signed request to the provider's gateway, trying its addresses in turn
    until one takes it."""
    provider = target.service.subsystem.member
    addresses = view.addresses(provider)
    if not addresses:
        return problem_response(
            "provider-unreachable", f"{provider} has no gateway address in the configuration"
        )
    headers = forwarded_headers(exchange)
    headers[SIGNATURE] = signature
    if content_type := request.headers.get("content-type"):
        headers["Content-Type"] = content_type
    failures = []
    for address in addresses:
        try:
            response = await runtime.mesh_client.request(
                exchange.method,
                f"{address}/r1/{target.service}{target.path_and_query}",
                headers=headers,
                content=body,
                timeout=runtime.gateway.settings.request_timeout,
            )
        except (httpx2.ConnectError, httpx2.ConnectTimeout) as error:
            # Not sent: the next address may take it.
            failures.append(f"{address}: {type(error).__name__}")
            continue
        except httpx2.HTTPError as error:
            # Perhaps received: sending it again elsewhere could do it twice.
            failures.append(f"{address}: {type(error).__name__}")
            break
        return response, response.headers.get(SIGNATURE, "")
    return problem_response("provider-unreachable", "; ".join(failures), {MESSAGE_ID: exchange.id})


def _verify_answer(
    view: MeshView,
    provider: MemberId,
    exchange: Exchange,
    signature: str,
    response: httpx2.Response,
    answer_signature: str,
) -> str | None:
    """Why the provider's answer cannot be trusted, or ``None`` when it holds."""
    if not answer_signature:
        return f"the provider's gateway answered {response.status_code} without a signature"
    try:
        signer, answer = view.verifier.verify_response(answer_signature)
    except ProtocolError as error:
        return f"the response's signature: {error}"
    if signer != str(provider):
        return f"the response is signed by {signer}, not by the provider {provider}"
    if answer.request != request_hash(signature) or answer.id != exchange.id:
        return "the response is signed for another request"
    if answer.status != response.status_code or answer.body != digest(response.content):
        return "the response is not the one that was signed"
    return None


# The mesh interface -------------------------------------------------------------------------


def mesh_app(runtime: GatewayRuntime) -> Starlette:
    async def call(request: Request) -> Response:
        return await provide(runtime, request)

    return Starlette(routes=[Route("/r1/{rest:path}", call, methods=METHODS)])


class Refusal(Exception):
    """Why the provider's gateway does not pass a request on; ``exchange`` once verified."""

    def __init__(self, slug: str, detail: str, exchange: Exchange | None = None) -> None:
        super().__init__(detail)
        self.slug = slug
        self.exchange = exchange


async def provide(runtime: GatewayRuntime, request: Request) -> Response:
    started = datetime.now(UTC)
    signature = request.headers.get(SIGNATURE, "")
    body = await request.body()
    try:
        exchange, backend, personal_data = _admit(runtime, request, signature, body)
        consent = await _spend_consent(runtime, exchange)
    except Refusal as refusal:
        status, problem = problem_body(refusal.slug, str(refusal))
        refused = refusal.exchange
        # Unverified, the message id is only what the request says; the request's hash binds.
        message_id = refused.id if refused else request.headers.get(MESSAGE_ID, "")
        response = _signed(runtime, message_id, signature, status, problem, _PROBLEM_HEADERS)
        if refused is None or refusal.slug == "replayed-request":
            return response  # nothing the log can hold, or logged when first received
        failed = await _log(runtime, refused, "provider", response, started, signature, None, body)
        return failed or response
    target = Target.parse(request.url.path, request.url.query)
    headers = forwarded_headers(exchange)
    headers.update(backend.headers)
    if content_type := request.headers.get("content-type"):
        headers["Content-Type"] = content_type
    subject: str | None = None
    try:
        answered = await runtime.backend_client.request(
            exchange.method,
            backend.url + target.path_and_query,
            headers=headers,
            content=body,
            timeout=runtime.gateway.settings.request_timeout,
        )
    except httpx2.HTTPError as error:
        status, problem = problem_body(
            "provider-system-unreachable", f"{exchange.service}: {type(error).__name__}"
        )
        response = _signed(runtime, exchange.id, signature, status, problem, _PROBLEM_HEADERS)
    else:
        passed = {
            name: value for name, value in answered.headers.items() if name in _ANSWER_HEADERS
        }
        response = _signed(
            runtime, exchange.id, signature, answered.status_code, answered.content, passed
        )
        if personal_data and answered.status_code < 300:
            subject = data_subject(runtime.gateway.member, answered.headers.get(DATA_SUBJECT))
            if consent is not None and subject != consent.subject:
                # The consent is one person's: an answer about anyone else is not passed on.
                status, problem = problem_body(
                    "consent-required",
                    f"the answer is not about the person who gave consent {consent.consent}",
                )
                response = _signed(
                    runtime, exchange.id, signature, status, problem, _PROBLEM_HEADERS
                )
                subject = None
    failed = await _log(
        runtime,
        exchange,
        "provider",
        response,
        started,
        signature,
        response.headers[SIGNATURE],
        body,
        subject,
    )
    return failed or response


_PROBLEM_HEADERS = {"content-type": PROBLEM_MEDIA_TYPE}


async def _spend_consent(runtime: GatewayRuntime, exchange: Exchange) -> ConsentHeld | None:
    """The consent the exchange relies on, spent for it; None when its basis is not consent."""
    if exchange.legal_basis != CONSENT_BASIS or exchange.consent is None:
        return None
    try:
        return await runtime.consents.spend(exchange)
    except ConsentRefused as refused:
        raise Refusal("consent-required", str(refused), exchange) from None


def _admit(
    runtime: GatewayRuntime, request: Request, signature: str, body: bytes
) -> tuple[Exchange, ProviderSystem, bool]:
    """The verified exchange, the provider system it goes to and whether the answer carries
    personal data, once the request may reach that system; :class:`Refusal` otherwise."""
    if runtime.maintenance:
        raise Refusal("maintenance", runtime.maintenance)
    try:
        view = runtime.configuration.current()
    except ConfigurationUnavailable as error:
        raise Refusal("configuration-unavailable", str(error)) from None
    if len(body) > MAX_BODY:
        raise Refusal("payload-too-large", f"at most {MAX_BODY} bytes")
    try:
        target = Target.parse(request.url.path, request.url.query)
        if not signature:
            raise ProtocolError("invalid-signature", f"{SIGNATURE} is required")
        signer, exchange = view.verifier.verify_request(signature)
    except ProtocolError as error:
        raise Refusal(error.slug, str(error)) from None
    _check_signed(request, target, exchange, signer, body)
    now = time.time()
    if abs(now - exchange.iat) > FRESHNESS:
        raise Refusal("stale-request", f"signed {int(now - exchange.iat)} s ago")
    # Every verified message spends its identifier, whatever becomes of it.
    if not runtime.received.claim(exchange.client, exchange.id, now):
        raise Refusal(
            "replayed-request", f"the message {exchange.id} was received before", exchange
        )
    try:
        return exchange, *_authorised(runtime, view, target, exchange)
    except Refusal as refusal:
        refusal.exchange = exchange
        raise


def _authorised(
    runtime: GatewayRuntime, view: MeshView, target: Target, exchange: Exchange
) -> tuple[ProviderSystem, bool]:
    """The provider system the exchange may reach, and whether the answer carries personal
    data; :class:`Refusal` otherwise."""
    backend = runtime.gateway.providers.get(target.service)
    if target.service.subsystem.member != runtime.gateway.member or backend is None:
        raise Refusal("unknown-service", f"this gateway does not provide {target.service}")
    client = SubsystemId.parse(exchange.client)
    decision = view.policy.decide(
        client, target.service, exchange.method, target.path, exchange.purpose
    )
    if not decision.allowed:
        raise Refusal(decision.problem or "access-denied", decision.detail)
    if decision.personal_data and exchange.legal_basis is None:
        raise Refusal(
            "legal-basis-required", f"{target.service} returns personal data: say why by law"
        )
    if exchange.legal_basis == CONSENT_BASIS and exchange.consent is None:
        raise Refusal("consent-required", f"the legal basis is consent: {CONSENT} is required")
    return backend, decision.personal_data


def _check_signed(
    request: Request, target: Target, exchange: Exchange, signer: str, body: bytes
) -> None:
    """The request must be the one that was signed, by the client's own member."""
    if str(SubsystemId.parse(exchange.client).member) != signer:
        raise Refusal("invalid-signature", f"{exchange.client} is not a subsystem of {signer}")
    if (
        exchange.method != request.method
        or exchange.service != str(target.service)
        or exchange.path != target.path_and_query
        or exchange.body != digest(body)
    ):
        raise Refusal("invalid-signature", "the request is not the one that was signed")
    sent = {name.lower(): value for name, value in forwarded_headers(exchange).items()}
    if any(request.headers.get(name) != value for name, value in sent.items()):
        raise Refusal("invalid-signature", "a Kiban-* header differs from the signed request")


def _signed(
    runtime: GatewayRuntime,
    message_id: str,
    signature: str,
    status: int,
    content: bytes,
    headers: dict[str, str],
) -> Response:
    """The provider's answer, signed and bound to the request's signature."""
    bound = request_hash(signature) if signature else ""
    answer = Answer(message_id, bound, status, digest(content), int(time.time()))
    response = Response(content, status, headers=headers)
    response.headers[SIGNATURE] = runtime.signer.sign_response(answer)
    response.headers[REQUEST_HASH] = bound
    if message_id:
        response.headers[MESSAGE_ID] = message_id
    return response


# Both ---------------------------------------------------------------------------------------


async def _log(
    runtime: GatewayRuntime,
    exchange: Exchange,
    role: str,
    response: Response,
    started: datetime,
    request_signature: str | None,
    response_signature: str | None,
    request_body: bytes,
    subject: str | None = None,
) -> Response | None:
    """Log the exchange; the caller's answer waits until the record is committed, so that no
    answered exchange is missing from the log after a crash.  When the log cannot be written,
    the answer to send instead: an exchange is never answered unlogged."""
    body = bytes(response.body)
    outcome = _outcome(response.status_code, response.headers.get("content-type", ""), body)
    entry = LogEntry(
        message_id=exchange.id,
        role=role,
        client=exchange.client,
        service=exchange.service,
        method=exchange.method,
        path=exchange.path,
        user_id=exchange.user,
        purpose=exchange.purpose,
        legal_basis=exchange.legal_basis,
        consent=exchange.consent,
        status=response.status_code,
        outcome=outcome,
        request_signature=request_signature,
        response_signature=response_signature,
        request_hash=request_hash(request_signature) if request_signature else None,
        request_body=request_body if runtime.keep_bodies else None,
        response_body=body if runtime.keep_bodies else None,
        started_at=started,
        finished_at=datetime.now(UTC),
        data_subject=subject,
    )
    try:
        await runtime.writer.write(entry)
    except DuplicateMessage:
        # Logged before this process started, within the replay window: a replay.
        return problem_response("replayed-request", f"{exchange.id} was logged before")
    except LogUnavailable as error:
        return problem_response("log-unavailable", str(error))
    return None


def _outcome(status: int, content_type: str, body: bytes) -> str:
    """``ok``, or what went wrong: the problem type's last segment when the answer is a
    problem, otherwise ``status-{code}``."""
    if status < 400:
        return "ok"
    if content_type.startswith(PROBLEM_MEDIA_TYPE):
        try:
            kind = json.loads(body).get("type", "")
        except (ValueError, AttributeError):
            kind = ""
        if isinstance(kind, str) and kind:
            return kind.rsplit("/", 1)[-1]
    return f"status-{status}"


def health_report(runtime: GatewayRuntime) -> Response:
    """Whether the gateway can exchange now, and what is wrong when it cannot."""
    checks: dict[str, dict[str, object]] = {}
    try:
        view = runtime.configuration.current()
        checks["configuration"] = {
            "ok": True,
            "expires_at": view.configuration.expires_at.isoformat(),
        }
        listed = view.policy.certificate(runtime.signer.serial)
        ours = listed is not None and listed.member == runtime.gateway.member
        checks["certificate"] = {
            "ok": ours,
            "serial": runtime.signer.serial,
            **({} if ours else {"detail": "not in the configuration: revoked or expired"}),
        }
    except ConfigurationUnavailable as error:
        checks["configuration"] = {"ok": False, "detail": str(error)}
    checks["log"] = {"ok": runtime.writer.healthy, "detail": runtime.writer.status}
    # The data tracker's records wait in the log when the platform cannot take them: that
    # delays what residents see, it does not stop exchanges.
    checks["data_tracker"] = {
        "ok": True,
        "detail": runtime.tracker.last_error or "ok",
        "set_aside": runtime.tracker.set_aside,
    }
    if runtime.maintenance:
        checks["maintenance"] = {"ok": False, "detail": runtime.maintenance}
    healthy = all(check["ok"] for check in checks.values())
    return JSONResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks},
        status_code=200 if healthy else 503,
    )
