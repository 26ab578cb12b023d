"""Every query over card sign-in requests; state changes are single conditional updates."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.orm import Session

from kiban.identity.card.models import CardSignInRequest, SignInStatus
from kiban.registry.localgov.models import LocalGovernment
from kiban.residents.codes import ResidentStatus
from kiban.residents.models import Resident


class SignInRequestRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, code: str) -> CardSignInRequest | None:
        return self.session.get(CardSignInRequest, code)

    def add(self, request: CardSignInRequest) -> None:
        self.session.add(request)

    def delete(self, request: CardSignInRequest) -> None:
        self.session.delete(request)
        self.session.flush()

    def approve(
        self,
        code: str,
        *,
        now: datetime,
        tenant_code: str,
        addressee_number: str,
        certificate_serial: str,
    ) -> bool:
        """Pending and unexpired → approved, atomically; False if another approval won."""
        result = self.session.execute(
            update(CardSignInRequest)
            .where(
                CardSignInRequest.code == code,
                CardSignInRequest.status == SignInStatus.PENDING,
                CardSignInRequest.expires_at > now,
            )
            .values(
                status=SignInStatus.APPROVED.value,
                tenant_code=tenant_code,
                addressee_number=addressee_number,
                certificate_serial=certificate_serial,
                approved_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        return _changed(result)

    def complete(self, code: str, *, now: datetime, deadline_after: datetime) -> bool:
        """Approved → completed, once; False if it was completed already or too late."""
        result = self.session.execute(
            update(CardSignInRequest)
            .where(
                CardSignInRequest.code == code,
                CardSignInRequest.status == SignInStatus.APPROVED,
                CardSignInRequest.expires_at > deadline_after,
            )
            .values(status=SignInStatus.COMPLETED.value, completed_at=now)
            .execution_options(synchronize_session=False)
        )
        return _changed(result)

    def purge_expired(self, before: datetime) -> int:
        """Delete requests that expired before ``before``; how many."""
        result = self.session.execute(
            delete(CardSignInRequest).where(CardSignInRequest.expires_at < before)
        )
        return result.rowcount if isinstance(result, CursorResult) else 0


def _changed(result: object) -> bool:
    return isinstance(result, CursorResult) and result.rowcount == 1


class DemoResidentRepository:
    """The seeded residents the demo wallet holds cards for."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def adults(self, tenant_code: str, born_on_or_before: date, limit: int) -> Sequence[Resident]:
        statement = (
            select(Resident)
            .where(
                Resident.tenant_code == tenant_code,
                Resident.status == ResidentStatus.RESIDENT,
                Resident.birth_date <= born_on_or_before,
            )
            .order_by(Resident.addressee_number)
            .limit(limit)
        )
        return self.session.scalars(statement).all()

    def resident(self, tenant_code: str, addressee_number: str) -> Resident | None:
        return self.session.get(Resident, (tenant_code, addressee_number))

    def municipality_name(self, lg_code: str) -> str:
        government = self.session.get(LocalGovernment, lg_code)
        return government.name if government else lg_code
