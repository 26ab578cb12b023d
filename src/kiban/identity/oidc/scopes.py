"""The scopes the provider knows, who they apply to, and how the consent screen names them."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from kiban.core.sessions import SubjectKind

OPENID = "openid"


@dataclass(frozen=True, slots=True)
class ScopeInfo:
    label_ja: str
    label_en: str
    claims: tuple[str, ...]
    kind: SubjectKind


# The 基本4情報 for residents; the business profile for business accounts.
CLAIM_SCOPES: dict[str, ScopeInfo] = {
    "name": ScopeInfo(
        "氏名（漢字・フリガナ）",
        "Name, with its reading",
        (
            "name",
            "family_name",
            "given_name",
            "name#ja-Kana-JP",
            "family_name#ja-Kana-JP",
            "given_name#ja-Kana-JP",
        ),
        SubjectKind.RESIDENT,
    ),
    "address": ScopeInfo("住所", "Address", ("address",), SubjectKind.RESIDENT),
    "birthdate": ScopeInfo("生年月日", "Date of birth", ("birthdate",), SubjectKind.RESIDENT),
    "gender": ScopeInfo("性別", "Gender", ("gender",), SubjectKind.RESIDENT),
    "profile": ScopeInfo(
        "事業者情報（アカウント種別・法人区分・法人番号・氏名・所在地・身元確認レベル）",
        "Business profile (account type, corporation type, corporate number, name, address,"
        " identity assurance level)",
        ("account_type", "corp_type", "corporate_number", "name", "address", "ial"),
        SubjectKind.BUSINESS,
    ),
}
SUPPORTED_SCOPES = (OPENID, *CLAIM_SCOPES)


def claim_scopes(scope: str | Collection[str]) -> list[str]:
    """The scopes among ``scope`` that release personal data, in a stable order."""
    requested = set(scope.split()) if isinstance(scope, str) else set(scope)
    return [name for name in CLAIM_SCOPES if name in requested]


def applicable(scopes: list[str], kind: SubjectKind) -> list[str]:
    """The scopes that mean something for this kind of subject; others are left out."""
    return [name for name in scopes if name == OPENID or CLAIM_SCOPES[name].kind is kind]
