"""Who a relying party sees: a pairwise subject identifier and the claims of the scopes granted.

``sub`` is an HMAC, under a key kept for this purpose, of the client id and a stable identifier
of the person: the resident's 住民票コード (kept across moves) or the business account id.
Two relying parties therefore see unrelated identifiers for one person, and none sees the
宛名番号 or the 個人番号.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import importlib
from typing import Any

from sqlalchemy.orm import Session

from kiban.core.config import Settings
from kiban.core.crypto import purpose_key
from kiban.core.errors import NotFound
from kiban.core.sessions import AuthSession, SubjectKind
from kiban.core.tenancy import bind_tenant
from kiban.identity.oidc.scopes import claim_scopes
from kiban.registry.localgov.models import LocalGovernment
from kiban.residents.codes import ResidentStatus, Sex
from kiban.residents.models import Resident
from kiban.residents.repository import ResidentRepository

_PURPOSE = b"kiban/oidc/pairwise-subject/v1"
_GENDERS = {Sex.MALE.value: "male", Sex.FEMALE.value: "female"}


class SubjectUnavailable(Exception):
    """The person is no longer one the provider can vouch for (moved out, died, disabled)."""


def subject_reference(auth_session: AuthSession) -> str:
    """``resident:131016:000000012`` or ``business:<id>``, as the audit trail names subjects."""
    return f"{auth_session.subject_kind}:{auth_session.subject_id}"


def _parse(subject: str) -> tuple[SubjectKind, str]:
    kind, _, subject_id = subject.partition(":")
    return SubjectKind(kind), subject_id


class Subjects:
    def __init__(self, session: Session, settings: Settings) -> None:
        self.session = session
        self._key = purpose_key(settings, _PURPOSE)

    def _mac(self, client_id: str, stable_id: str) -> str:
        message = f"{client_id}\x00{stable_id}".encode()
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    def pairwise_sub(self, client_id: str, subject: str) -> str:
        kind, subject_id = _parse(subject)
        if kind is SubjectKind.RESIDENT:
            return self._mac(
                client_id, "resident:" + self._resident(subject_id).resident_record_code
            )
        if kind is SubjectKind.BUSINESS:
            return self._mac(client_id, "business:" + subject_id)
        raise SubjectUnavailable("staff accounts do not sign in to relying parties")

    def _resident(self, subject_id: str) -> Resident:
        tenant_code, _, addressee_number = subject_id.partition(":")
        bind_tenant(self.session, tenant_code)
        resident = ResidentRepository(self.session, tenant_code).resident(addressee_number)
        if resident is None or resident.status != ResidentStatus.RESIDENT:
            raise SubjectUnavailable("the resident record is no longer current")
        return resident

    def ensure_available(self, subject: str) -> None:
        """Raise :class:`SubjectUnavailable` unless the person can still be vouched for: a
        resident still resident, a business account still enabled."""
        kind, subject_id = _parse(subject)
        if kind is SubjectKind.RESIDENT:
            self._resident(subject_id)
        elif kind is SubjectKind.BUSINESS:
            self._business_claims(subject_id, ["profile"])
        else:
            raise SubjectUnavailable("staff accounts do not sign in to relying parties")

    def claims(self, subject: str, scope: str) -> dict[str, Any]:
        """The claims of the granted claim scopes (``sub`` is added by the caller)."""
        scopes = claim_scopes(scope)
        if not scopes:
            return {}
        kind, subject_id = _parse(subject)
        if kind is SubjectKind.RESIDENT:
            return self._resident_claims(self._resident(subject_id), scopes)
        if kind is SubjectKind.BUSINESS:
            return self._business_claims(subject_id, scopes)
        raise SubjectUnavailable("staff accounts do not sign in to relying parties")

    def _resident_claims(self, resident: Resident, scopes: list[str]) -> dict[str, Any]:
        claims: dict[str, Any] = {}
        if "name" in scopes:
            claims.update(
                {
                    "name": f"{resident.family_name} {resident.given_name}",
                    "family_name": resident.family_name,
                    "given_name": resident.given_name,
                    "name#ja-Kana-JP": f"{resident.family_name_kana} {resident.given_name_kana}",
                    "family_name#ja-Kana-JP": resident.family_name_kana,
                    "given_name#ja-Kana-JP": resident.given_name_kana,
                }
            )
        if "address" in scopes:
            claims["address"] = self._address(resident)
        if "birthdate" in scopes:
            claims["birthdate"] = resident.birth_date.isoformat()
        if "gender" in scopes:
            claims["gender"] = _GENDERS.get(resident.sex, "other")
        return claims

    def _address(self, resident: Resident) -> dict[str, str]:
        municipality = self.session.get(LocalGovernment, resident.lg_code)
        if municipality is None:  # a foreign key guarantees it; kept for the type checker
            raise SubjectUnavailable("the resident's municipality is unknown")
        prefecture = self.session.get(LocalGovernment, municipality.prefecture_code)
        region = prefecture.name if prefecture else ""
        # Japan Post's name includes the county or the designated city: 高座郡寒川町, 大阪市北区.
        locality = municipality.postal_name or municipality.name
        street = resident.town_name + resident.banchi
        if resident.katagaki:
            street += " " + resident.katagaki
        return {
            "formatted": f"{region}{locality}{street}",
            "region": region,
            "locality": locality,
            "street_address": street,
            "country": "JP",
        }

    def _business_claims(self, account_id: str, scopes: list[str]) -> dict[str, Any]:
        if "profile" not in scopes:
            return {}
        # Looked up when needed: business accounts are a sibling module of the same layer.
        business = importlib.import_module("kiban.identity.business.service")
        try:
            found = business.business_claims(self.session, account_id)
        except NotFound as error:
            raise SubjectUnavailable("the business account no longer exists") from error
        return {
            "account_type": found.account_type,
            "corp_type": found.corp_type,
            "corporate_number": found.corporate_number,
            "name": found.name,
            "address": {"formatted": found.address, "country": "JP"} if found.address else None,
            "ial": found.ial,
        }
