"""Business IDs: registering prime, member and entry accounts, signing in, and their claims.

A prime's identity is proven twice over: the person by a card sign-in (their name comes from
the resident record, never typed) and the company by its 法人番号 in the corporation
registry.  Members inherit the company from their prime.  Entry accounts are whoever
registered them, which is why they carry ``ial1``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kiban.core.audit import AuditOutcome, record_audit
from kiban.core.errors import NotFound, ProblemError
from kiban.identity.business.models import AccountType, BusinessAccount, CorpType
from kiban.identity.credentials import (
    IssuedPassword,
    SecretBox,
    SignInAttempt,
    SignInOutcome,
    SignInPolicy,
    check_password_policy,
    generate_password,
    invalid_credential_as,
    normalize_login_id,
    person_name,
    sign_in,
    sign_in_login_id,
)
from kiban.registry.corporations.schemas import CorporationOut
from kiban.registry.corporations.service import CorporationService
from kiban.registry.localgov.models import LocalGovernment
from kiban.residents.codes import ResidentStatus
from kiban.residents.models import Resident
from kiban.residents.repository import ResidentRepository

BUSINESS_SIGN_IN = SignInPolicy(kind="business")
NAME_MAX_LENGTH = 128


class InvalidBusinessRequest(ProblemError):
    def __init__(self, detail: str) -> None:
        super().__init__(
            422, "invalid-business-account", "入力内容を確認してください / Invalid request", detail
        )


class BusinessConflict(ProblemError):
    def __init__(self, detail: str) -> None:
        super().__init__(409, "business-account-conflict", "登録できません / Conflict", detail)


@dataclass(frozen=True, slots=True)
class BusinessClaims:
    """What the OpenID provider releases about a business account (scope ``profile``)."""

    account_type: str  # "prime" | "member" | "entry"
    corp_type: str  # "corporation" | "sole_proprietor"
    corporate_number: str | None
    name: str  # the person's name
    address: str | None  # the company's registered address
    ial: str  # "ial1" | "ial2"


@dataclass(frozen=True, slots=True)
class Representative:
    """The signed-in resident who would become a prime: from their record, not typed."""

    resident_ref: str
    name: str
    address: str


def business_subject(account: BusinessAccount) -> str:
    return f"business:{account.account_id}"


def _clean_name(text: str) -> str:
    with invalid_credential_as(InvalidBusinessRequest):
        return person_name(text, NAME_MAX_LENGTH)


class BusinessService:
    def __init__(self, session: Session) -> None:
        self.session = session

    # Reads ------------------------------------------------------------------------------

    def account(self, account_id: str) -> BusinessAccount:
        account = self.session.get(BusinessAccount, account_id)
        if account is None:
            raise NotFound("No business account has this id. / 該当するアカウントがありません。")
        return account

    def by_login_id(self, login_id: str) -> BusinessAccount | None:
        statement = select(BusinessAccount).where(BusinessAccount.login_id == login_id)
        return self.session.scalars(statement).one_or_none()

    def accounts(self) -> list[BusinessAccount]:
        statement = select(BusinessAccount).order_by(BusinessAccount.created_at)
        return list(self.session.scalars(statement))

    def members(self, prime: BusinessAccount) -> list[BusinessAccount]:
        statement = (
            select(BusinessAccount)
            .where(BusinessAccount.created_by == prime.account_id)
            .order_by(BusinessAccount.login_id)
        )
        return list(self.session.scalars(statement))

    def company(self, corporate_number: str) -> CorporationOut:
        """The registered, open company with ``corporate_number``; refused with the reason."""
        company = CorporationService(self.session).get(corporate_number.strip())
        if company.closed_on is not None:
            raise InvalidBusinessRequest(
                "この法人は登記記録が閉鎖されています。 / This corporation has been closed."
            )
        return company

    def representative(self, resident_ref: str) -> Representative:
        """The resident a card session names, who must still live in their municipality."""
        tenant_code, _, addressee_number = resident_ref.partition(":")
        resident = ResidentRepository(self.session, tenant_code).resident(addressee_number)
        if resident is None or resident.status != ResidentStatus.RESIDENT:
            raise InvalidBusinessRequest(
                "住民記録が確認できません。 / Your resident record cannot be confirmed."
            )
        return Representative(resident_ref, _person_name(resident), self._address(resident))

    def _address(self, resident: Resident) -> str:
        city = self.session.get(LocalGovernment, resident.lg_code)
        prefecture = self.session.get(LocalGovernment, city.prefecture_code) if city else None
        parts = [
            prefecture.name if prefecture else "",
            city.name if city else "",
            resident.town_name,
            resident.banchi,
            resident.katagaki or "",
        ]
        return "".join(parts)

    # Registration -----------------------------------------------------------------------

    def register_entry(
        self,
        login_id: str,
        password: str,
        name: str,
        corp_type: str,
        corporate_number: str | None,
    ) -> BusinessAccount:
        """A self-registered account; its TOTP is enrolled next (``needs_setup``)."""
        try:
            kind = CorpType(corp_type)
        except ValueError:
            raise InvalidBusinessRequest(
                "事業形態を選んでください。 / Choose the kind of business."
            ) from None
        number = None
        if corporate_number and corporate_number.strip():
            if kind is not CorpType.CORPORATION:
                raise InvalidBusinessRequest(
                    "個人事業主には法人番号はありません。"
                    " / Sole proprietors have no corporate number."
                )
            number = self.company(corporate_number).number
        return self._create(
            AccountType.ENTRY, login_id, password, _clean_name(name), kind, number, None, None
        )

    def create_prime(
        self, resident_ref: str, corporate_number: str, login_id: str, password: str
    ) -> BusinessAccount:
        person = self.representative(resident_ref)
        company = self.company(corporate_number)
        return self._create(
            AccountType.PRIME,
            login_id,
            password,
            person.name,
            CorpType.CORPORATION,
            company.number,
            resident_ref,
            None,
        )

    def create_member(
        self, prime: BusinessAccount, login_id: str, name: str
    ) -> IssuedPassword[BusinessAccount]:
        if prime.type is not AccountType.PRIME or prime.disabled_at is not None:
            raise ProblemError(
                403, "forbidden", "Forbidden / 権限がありません", "Only a prime adds members."
            )
        password = generate_password()
        account = self._create(
            AccountType.MEMBER,
            login_id,
            password,
            _clean_name(name),
            CorpType(prime.corp_type),
            prime.corporate_number,
            None,
            prime.account_id,
        )
        account.password_must_change = True  # a password the prime saw is changed at once
        self.session.flush()
        return IssuedPassword(account, password)  # the prime hands it over

    def _create(
        self,
        account_type: AccountType,
        login_id: str,
        password: str,
        name: str,
        corp_type: CorpType,
        corporate_number: str | None,
        resident_ref: str | None,
        created_by: str | None,
    ) -> BusinessAccount:
        with invalid_credential_as(InvalidBusinessRequest):
            login = normalize_login_id(login_id)
            check_password_policy(password, login)
        if self.by_login_id(login) is not None:
            raise BusinessConflict(
                f"ログインID {login} は使われています。 / The login id {login} is taken."
            )
        account = BusinessAccount(
            account_id=secrets.token_hex(8),
            login_id=login,
            account_type=account_type.value,
            corp_type=corp_type.value,
            corporate_number=corporate_number,
            name=name,
            resident_ref=resident_ref,
            created_by=created_by,
            created_at=datetime.now(UTC),
            password_must_change=False,
        )
        account.set_password(password)
        try:
            with self.session.begin_nested():
                self.session.add(account)
                self.session.flush()
        except IntegrityError:
            raise BusinessConflict(
                "この法人にはすでにprimeアカウントがあります。"
                " / This company already has a prime account."
            ) from None
        record_audit(
            self.session,
            "business.create",
            AuditOutcome.SUCCESS,
            actor=f"business:{created_by}" if created_by else business_subject(account),
            subject=business_subject(account),
            details={"account_type": account_type.value},
        )
        return account


def _person_name(resident: Resident) -> str:
    return f"{resident.family_name} {resident.given_name}"


def business_claims(session: Session, account_id: str) -> BusinessClaims:
    """The claims of an active account, for the OpenID provider; NotFound otherwise."""
    account = BusinessService(session).account(account_id)
    if account.disabled_at is not None:
        raise NotFound("No business account has this id. / 該当するアカウントがありません。")
    address = None
    if account.corporate_number is not None:
        address = CorporationService(session).get(account.corporate_number).address.text
    return BusinessClaims(
        account_type=account.account_type,
        corp_type=account.corp_type,
        corporate_number=account.corporate_number,
        name=account.name,
        address=address,
        ial=account.type.ial,
    )


def business_sign_in(
    session: Session,
    box: SecretBox,
    *,
    login_id: str,
    password: str,
    code: str,
    ip: str,
    now: datetime | None = None,
) -> SignInOutcome[BusinessAccount]:
    """Sign a business account in; refusals raise (see credentials.sign_in)."""
    login = sign_in_login_id(login_id)
    account = BusinessService(session).by_login_id(login)
    attempt = SignInAttempt(ip=ip, login_key=login, password=password, code=code)
    subject = business_subject(account) if account is not None else None
    return sign_in(session, BUSINESS_SIGN_IN, attempt, account, subject, box, now=now)
