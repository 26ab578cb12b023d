"""Every query over business accounts (one national table: a company is not a tenant's)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, SessionTransaction

from kiban.identity.business.models import AccountType, BusinessAccount


class BusinessRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, account_id: str) -> BusinessAccount | None:
        return self.session.get(BusinessAccount, account_id)

    def by_login_id(self, login_id: str) -> BusinessAccount | None:
        statement = select(BusinessAccount).where(BusinessAccount.login_id == login_id)
        return self.session.scalars(statement).one_or_none()

    def all(self) -> list[BusinessAccount]:
        statement = select(BusinessAccount).order_by(
            BusinessAccount.created_at, BusinessAccount.login_id
        )
        return list(self.session.scalars(statement))

    def members_of(self, corporate_number: str) -> list[BusinessAccount]:
        """The company's member accounts, disabled ones too, whichever prime added them."""
        statement = (
            select(BusinessAccount)
            .where(
                BusinessAccount.corporate_number == corporate_number,
                BusinessAccount.account_type == AccountType.MEMBER.value,
            )
            .order_by(BusinessAccount.login_id)
        )
        return list(self.session.scalars(statement))

    def active_prime(self, corporate_number: str) -> BusinessAccount | None:
        statement = select(BusinessAccount).where(
            BusinessAccount.corporate_number == corporate_number,
            BusinessAccount.account_type == AccountType.PRIME.value,
            BusinessAccount.disabled_at.is_(None),
        )
        return self.session.scalars(statement).one_or_none()

    def active_primes_represented_by(self, resident_ref: str) -> list[BusinessAccount]:
        """The active primes whose representative is this resident record (one per company)."""
        statement = (
            select(BusinessAccount)
            .where(
                BusinessAccount.resident_ref == resident_ref,
                BusinessAccount.account_type == AccountType.PRIME.value,
                BusinessAccount.disabled_at.is_(None),
            )
            .order_by(BusinessAccount.account_id)
        )
        return list(self.session.scalars(statement))

    def add(self, account: BusinessAccount) -> None:
        """Insert ``account``; a unique index's IntegrityError leaves the session usable."""
        with self.savepoint():
            self.session.add(account)
            self.session.flush()

    def savepoint(self) -> SessionTransaction:
        """A savepoint to change accounts in: a unique index's refusal undoes only them.

        Begun before the change, since beginning one flushes what is already pending.
        """
        return self.session.begin_nested()
