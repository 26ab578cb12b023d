"""Business IDs: registering prime, member and entry accounts, disabling them, signing in.

A prime's identity is proven twice over: the person by a card sign-in (their name comes from
the resident record, never typed) and the company by its 法人番号 in the corporation
registry.  Members inherit the company from their prime.  Entry accounts are whoever
registered them, which is why they carry ``ial1``.

Accounts are disabled, never deleted: by an operator, by their company's prime (a member
removed), or when a prime's representative moves out or dies.  A disabled account cannot
sign in and loses its open sessions at once; every change is audited with its actor.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kiban.core.audit import AuditDetail, AuditOutcome, record_audit
from kiban.core.errors import Forbidden, NotFound, ProblemError
from kiban.core.sessions import SubjectKind, end_subject_sessions
from kiban.identity.business.models import (
    AccountType,
    BusinessAccount,
    CorpType,
    DisabledReason,
)
from kiban.identity.business.repository import BusinessRepository
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
from kiban.registry.localgov.repository import LocalGovernmentRepository
from kiban.residents.codes import ResidentStatus
from kiban.residents.models import Resident
from kiban.residents.repository import ResidentRepository

BUSINESS_SIGN_IN = SignInPolicy(kind="business")
NAME_MAX_LENGTH = 128
OPERATOR = "operator"  # the actor of CLI changes: whoever runs kiban on the server
ANOTHER_PRIME = (
    "この法人にはすでにprimeアカウントがあります。 / This company already has a prime account."
)


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
        self.repository = BusinessRepository(session)

    # Reads ------------------------------------------------------------------------------

    def account(self, account_id: str) -> BusinessAccount:
        account = self.repository.get(account_id)
        if account is None:
            raise NotFound("No business account has this id. / 該当するアカウントがありません。")
        return account

    def by_login_id(self, text: str) -> BusinessAccount:
        """The account ``text`` names as its login id, as typed (``Yamada@…`` is ``yamada@…``)."""
        with invalid_credential_as(InvalidBusinessRequest):
            login = normalize_login_id(text)
        account = self.repository.by_login_id(login)
        if account is None:
            raise NotFound(
                f"ログインID {login} のアカウントはありません。 / No business account has the"
                f" login id {login}."
            )
        return account

    def accounts(self) -> list[BusinessAccount]:
        return self.repository.all()

    def members(self, prime: BusinessAccount) -> list[BusinessAccount]:
        """The members of a prime's company, including those an earlier prime added."""
        if prime.type is not AccountType.PRIME or prime.corporate_number is None:
            return []
        return self.repository.members_of(prime.corporate_number)

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
        resident = self._current_resident(resident_ref)
        if resident is None:
            raise InvalidBusinessRequest(
                "住民記録が確認できません。 / Your resident record cannot be confirmed."
            )
        return Representative(resident_ref, _person_name(resident), self._address(resident))

    def _current_resident(self, resident_ref: str) -> Resident | None:
        tenant_code, _, addressee_number = resident_ref.partition(":")
        resident = ResidentRepository(self.session, tenant_code).resident(addressee_number)
        if resident is None or resident.status != ResidentStatus.RESIDENT:
            return None
        return resident

    def _address(self, resident: Resident) -> str:
        registry = LocalGovernmentRepository(self.session)
        city = registry.get(resident.lg_code)
        prefecture = registry.get(city.prefecture_code) if city else None
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
        _require_active_prime(prime)
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
        if self.repository.by_login_id(login) is not None:
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
            self.repository.add(account)
        except IntegrityError:
            raise BusinessConflict(ANOTHER_PRIME) from None
        record_audit(
            self.session,
            "business.create",
            AuditOutcome.SUCCESS,
            actor=f"business:{created_by}" if created_by else business_subject(account),
            subject=business_subject(account),
            details={"account_type": account_type.value},
        )
        return account

    # Disabling and enabling -------------------------------------------------------------

    def disable(
        self, account: BusinessAccount, reason: DisabledReason, *, actor: str
    ) -> BusinessAccount:
        """Refuse the account's sign-ins and end its sessions; a disabled account stays so."""
        if account.disabled_at is None:
            account.disabled_at = datetime.now(UTC)
            account.disabled_reason = reason.value
            end_subject_sessions(self.session, SubjectKind.BUSINESS, account.account_id)
            self.session.flush()
            self._audit("business.disable", actor, account, reason=reason.value)
        return account

    def enable(self, account: BusinessAccount, *, actor: str) -> BusinessAccount:
        """An operator's undoing of a disable.

        A prime comes back only while its representative is still a resident and the company
        has no other active prime: otherwise the current representative registers a new one.
        """
        if account.disabled_at is None:
            return account
        if account.type is AccountType.PRIME and (
            account.resident_ref is None or self._current_resident(account.resident_ref) is None
        ):
            raise BusinessConflict(
                "代表者の住民記録が現在のものではありません。新しい代表者がprimeアカウントを"
                "登録してください。 / The representative's resident record is no longer"
                " current; the company's representative registers a new prime account."
            )
        try:
            with self.repository.savepoint():
                account.disabled_at = None
                account.disabled_reason = None
                self.session.flush()
        except IntegrityError:
            raise BusinessConflict(ANOTHER_PRIME) from None
        self._audit("business.enable", actor, account)
        return account

    def company_member(self, prime: BusinessAccount, account_id: str) -> BusinessAccount:
        """A member of the prime's own company; any other account is not one to manage."""
        _require_active_prime(prime)
        member = self.repository.get(account_id)
        if (
            member is None
            or member.type is not AccountType.MEMBER
            or member.corporate_number != prime.corporate_number
        ):
            raise NotFound(
                "該当するメンバーがいません。 / Your company has no member with this id."
            )
        return member

    def remove_member(self, prime: BusinessAccount, account_id: str) -> BusinessAccount:
        """A prime removes a member of their company: disabled, their sessions ended.

        A refusal is audited too (``denied``); the caller commits it by answering normally.
        """
        actor = business_subject(prime)
        try:
            member = self.company_member(prime, account_id)
        except ProblemError as refusal:
            record_audit(
                self.session,
                "business.disable",
                AuditOutcome.DENIED,
                actor=actor,
                subject=f"business:{account_id}",
                details={"reason": DisabledReason.REMOVED_BY_PRIME.value, "refusal": refusal.slug},
            )
            raise
        return self.disable(member, DisabledReason.REMOVED_BY_PRIME, actor=actor)

    def disable_primes_represented_by(self, resident_ref: str, *, actor: str) -> None:
        """The representative moved out or died: their primes end; members keep working."""
        for prime in self.repository.active_primes_represented_by(resident_ref):
            self.disable(prime, DisabledReason.REPRESENTATIVE_REMOVED, actor=actor)

    def _audit(
        self, action: str, actor: str, account: BusinessAccount, **details: AuditDetail
    ) -> None:
        record_audit(
            self.session,
            action,
            AuditOutcome.SUCCESS,
            actor=actor,
            subject=business_subject(account),
            details=details or None,
        )


def _require_active_prime(account: BusinessAccount) -> None:
    if account.type is not AccountType.PRIME or account.disabled_at is not None:
        raise Forbidden(
            "メンバーを管理できるのはprimeアカウントだけです。 / Only a prime account manages"
            " members."
        )


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
    account = BusinessRepository(session).by_login_id(login)
    attempt = SignInAttempt(ip=ip, login_key=login, password=password, code=code)
    subject = business_subject(account) if account is not None else None
    return sign_in(session, BUSINESS_SIGN_IN, attempt, account, subject, box, now=now)
