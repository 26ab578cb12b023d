"""Card sign-in requests: what a browser waits on while the card holder approves it elsewhere."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, DateTime, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from kiban.core.database import Base


class SignInStatus(StrEnum):
    PENDING = "pending"  # waiting for the card holder
    APPROVED = "approved"  # a card signed the challenge; the browser has not picked it up
    COMPLETED = "completed"  # the browser's session started; the request can never be used again


class CardSignInRequest(Base):
    """One card sign-in, from the browser that asked to the session it started.

    It is not tenant-owned: until a card approves it nobody knows whose it is.
    """

    __tablename__ = "card_signin_requests"

    code: Mapped[str] = mapped_column(String(8), primary_key=True)  # what a person types
    challenge: Mapped[str] = mapped_column(String(43))  # 32 random bytes, base64url
    # The browser that started it holds the secret in a cookie; seeing the code is not enough.
    browser_secret_sha256: Mapped[str] = mapped_column(String(64))
    next_path: Mapped[str] = mapped_column(String(2048))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    tenant_code: Mapped[str | None] = mapped_column(String(6))
    addressee_number: Mapped[str | None] = mapped_column(String(10))
    certificate_serial: Mapped[str | None] = mapped_column(String(40))
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(
            f"status IN ({', '.join(repr(str(s.value)) for s in SignInStatus)})", name="status"
        ),
        CheckConstraint("(status = 'pending') = (certificate_serial IS NULL)", name="approval"),
        # Expired requests are purged by age.
        Index("ix_card_signin_requests_expires_at", "expires_at"),
    )
