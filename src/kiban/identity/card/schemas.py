"""What the device (the phone app, ``kiban card approve``, the demo wallet) sends and gets."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class SignInRequestOut(BaseModel):
    code: str = Field(description="The code the browser shows (without its dash)")
    challenge: str = Field(description="32 random bytes, base64url: sign it, once")
    origin: str = Field(description="The site being signed in to; part of the signed message")
    service: str = Field(description="What the person signs in to, to show before approving")
    expires_at: datetime
    message: str = Field(
        description="The exact text to sign: kiban-card-signin/v1, origin, code and challenge"
    )


class ApprovalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    certificate: str = Field(
        min_length=1, max_length=8192, description="The authentication certificate, PEM"
    )
    signature: str = Field(
        min_length=1,
        max_length=200,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="ECDSA P-256 SHA-256 signature (DER) of the message, base64url",
    )


class ApprovalOut(BaseModel):
    code: str
    status: str = Field(description="`approved`: the browser's session will start")
