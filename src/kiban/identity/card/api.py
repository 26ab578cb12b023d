"""The device API: what the card holder's phone app calls to approve a browser's sign-in.

Public (the signature is the credential) and rate limited per address and per request.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from sqlalchemy.orm import Session

from kiban.core.access import PublicAccess
from kiban.core.dependencies import SingleStatementSession
from kiban.core.errors import ProblemError
from kiban.core.throttle import client_ip
from kiban.identity.card.protocol import (
    CODE_LENGTH,
    b64url_decode,
    normalise_code,
    signin_message,
)
from kiban.identity.card.schemas import ApprovalIn, ApprovalOut, SignInRequestOut
from kiban.identity.card.service import CardSignInService

router = APIRouter(prefix="/card", tags=["card sign-in"], dependencies=[PublicAccess])

CodePath = Annotated[
    str,
    Path(
        min_length=CODE_LENGTH,
        max_length=CODE_LENGTH + 2,
        description="The sign-in code, as shown (ABCD-2345) or without its dash",
    ),
]


def _code(typed: str) -> str:
    code = normalise_code(typed)
    if code is None:
        raise ProblemError(
            422,
            "invalid-code",
            "Invalid code / コードが正しくありません",
            "A code is 8 letters and digits.",
        )
    return code


def _service(request: Request, session: Session) -> CardSignInService:
    return CardSignInService(session, request.app.state.settings)


@router.get("/signin-requests/{code}", response_model=SignInRequestOut)
def get_signin_request(
    code: CodePath, request: Request, session: SingleStatementSession
) -> SignInRequestOut:
    """A pending sign-in request: what to show the holder and what to sign."""
    service = _service(request, session)
    signin = service.describe(_code(code), client_ip=client_ip(request))
    return SignInRequestOut(
        code=signin.code,
        challenge=signin.challenge,
        origin=service.origin,
        service="kiban へのサインイン / Sign in to kiban",
        expires_at=signin.expires_at,
        message=signin_message(service.origin, signin.code, signin.challenge).decode("ascii"),
    )


@router.post("/signin-requests/{code}/approval", response_model=ApprovalOut)
def approve_signin_request(
    code: CodePath, body: ApprovalIn, request: Request, session: SingleStatementSession
) -> ApprovalOut:
    """Approve with the authentication certificate and a signature of the message."""
    try:
        signature = b64url_decode(body.signature)
    except ValueError:
        raise ProblemError(
            422,
            "invalid-signature-encoding",
            "Invalid signature / 署名の形式が不正です",
            "The signature must be base64url.",
        ) from None
    signin = _service(request, session).approve(
        _code(code), body.certificate, signature, client_ip=client_ip(request)
    )
    return ApprovalOut(code=signin.code, status="approved")
