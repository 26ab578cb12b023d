"""Publication: the CA certificates, the CRL and the OCSP responder, open to everyone."""

from __future__ import annotations

from typing import Annotated

from cryptography.hazmat.primitives import serialization
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from kiban.core.access import PublicAccess
from kiban.core.dependencies import DbSession
from kiban.core.errors import ProblemError
from kiban.identity.ca.authority import AuthorityNotInitialised
from kiban.identity.ca.service import CertificateAuthorityService

router = APIRouter(prefix="/ca", tags=["certificate authority"], dependencies=[PublicAccess])

PEM_MEDIA_TYPE = "application/pem-certificate-chain"  # RFC 8555 §9.1
CRL_MEDIA_TYPE = "application/pkix-crl"  # RFC 5280 §4.2.1.13
OCSP_REQUEST_MEDIA_TYPE = "application/ocsp-request"  # RFC 6960 appendix A
OCSP_RESPONSE_MEDIA_TYPE = "application/ocsp-response"
MAX_OCSP_REQUEST = 4096


class CaUnavailable(ProblemError):
    def __init__(self) -> None:
        super().__init__(
            503,
            "ca-not-initialised",
            "Certificate authority not set up / 認証局が未設定です",
            "The operator has not run `kiban ca init` yet.",
        )


def _service(request: Request, session: DbSession) -> CertificateAuthorityService:
    service = CertificateAuthorityService(session, request.app.state.settings)
    try:
        service.authority  # noqa: B018 — loads (and caches) the CA, or says it is missing
    except AuthorityNotInitialised:
        raise CaUnavailable from None
    return service


Service = Annotated[CertificateAuthorityService, Depends(_service)]


def _pem(certificate_pem: bytes, filename: str) -> Response:
    return Response(
        certificate_pem,
        media_type=PEM_MEDIA_TYPE,
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


@router.get("/root.pem", response_class=Response, summary="The root CA certificate")
def root_certificate(service: Service) -> Response:
    """ルート認証局の証明書 (PEM). Relying parties trust this one."""
    return _pem(service.authority.root.public_bytes(serialization.Encoding.PEM), "root.pem")


@router.get("/issuing.pem", response_class=Response, summary="The issuing CA certificate")
def issuing_certificate(service: Service) -> Response:
    """発行局の証明書 (PEM), signed by the root; it signs every holder certificate."""
    issuing = service.authority.issuing
    return _pem(issuing.public_bytes(serialization.Encoding.PEM), "issuing.pem")


@router.get("/crl", response_class=Response, summary="The certificate revocation list")
def certificate_revocation_list(service: Service) -> Response:
    """失効リスト: DER X.509 CRL signed by the issuing CA, with nextUpdate 24 hours ahead."""
    return Response(
        service.crl(),
        media_type=CRL_MEDIA_TYPE,
        headers={"Cache-Control": "public, max-age=300"},
    )


async def _ocsp_request(request: Request) -> bytes:
    """The raw DER body; read here so that the route itself can run in the thread pool."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip()
    if media_type != OCSP_REQUEST_MEDIA_TYPE:
        raise ProblemError(
            415,
            "unsupported-media-type",
            "Unsupported media type / 対応していない形式です",
            f"Send a DER OCSP request as {OCSP_REQUEST_MEDIA_TYPE}.",
        )
    body = await request.body()
    if not body or len(body) > MAX_OCSP_REQUEST:
        raise ProblemError(
            400,
            "invalid-ocsp-request",
            "Invalid OCSP request / OCSPリクエストが不正です",
            f"The body must be a DER OCSP request of at most {MAX_OCSP_REQUEST} bytes.",
        )
    return body


@router.post(
    "/ocsp",
    response_class=Response,
    summary="Online certificate status (OCSP)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                OCSP_REQUEST_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}
            },
        }
    },
    responses={200: {"content": {OCSP_RESPONSE_MEDIA_TYPE: {}}}},
)
def online_status(body: Annotated[bytes, Depends(_ocsp_request)], service: Service) -> Response:
    """RFC 6960 OCSP: one certificate's status (good, revoked or unknown), signed by the CA."""
    return Response(service.ocsp_response(body), media_type=OCSP_RESPONSE_MEDIA_TYPE)
