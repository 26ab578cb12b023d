"""Every query over staff accounts, scoped to one tenant."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from kiban.identity.staff.models import StaffAccount


class StaffRepository:
    def __init__(self, session: Session, tenant_code: str) -> None:
        self.session = session
        self.tenant_code = tenant_code

    def get(self, staff_id: str) -> StaffAccount | None:
        return self.session.get(StaffAccount, (self.tenant_code, staff_id))

    def by_login_id(self, login_id: str) -> StaffAccount | None:
        statement = select(StaffAccount).where(
            StaffAccount.tenant_code == self.tenant_code, StaffAccount.login_id == login_id
        )
        return self.session.scalars(statement).one_or_none()

    def all(self) -> list[StaffAccount]:
        statement = (
            select(StaffAccount)
            .where(StaffAccount.tenant_code == self.tenant_code)
            .order_by(StaffAccount.login_id)
        )
        return list(self.session.scalars(statement))

    def add(self, account: StaffAccount) -> None:
        self.session.add(account)
        self.session.flush()
